import { normaliseHost } from '../domains';
import { jsonbText } from '../json';
import type { SqlExecutor } from '../sql/port';
import { TENANT_LIFECYCLE, type TenantStatus } from './lifecycle';

/**
 * What an application needs to serve a request for a tenant, by the host it came to or by the
 * tenant's id: `GET /resolve`, and the same function an application's own client calls on its own
 * connection (one that may read the control schema, e.g. a member of tenantry_reader) when its
 * cache misses.
 */
export interface ResolvedTenant {
  readonly tenantId: string;
  /** The tenant's schema. */
  readonly schema: string;
  /** The tenant schema's database role (`tenantry.tenant_role(schema)`): what the application acts as. */
  readonly role: string;
  readonly status: TenantStatus;
  readonly blueprint: string;
  readonly blueprintVersion: number;
  /** The template and the version of it the tenant was provisioned from; null without one. */
  readonly template: { readonly id: string; readonly name: string; readonly version: number } | null;
  /**
   * The template version's settings and limits as stored on the tenant ({} without a template). A
   * number JavaScript cannot hold exactly (past 2^53) is its JSON text (`JSON.rawJSON`), which
   * JSON.stringify writes back unchanged: it never passes through a JavaScript number.
   */
  readonly settings: Record<string, unknown>;
  readonly limits: Record<string, unknown>;
  /** The hosts it holds, in their order. */
  readonly domains: readonly string[];
}

export type ResolveKey = { readonly host: string } | { readonly id: string };

/** What GET /resolve answers for a status (TENANT_LIFECYCLE): 200 `serve`, 404 `absent`, 410 `gone`. */
export function resolveOutcome(status: TenantStatus): 'serve' | 'absent' | 'gone' {
  return TENANT_LIFECYCLE[status].resolve;
}

const SELECT_RESOLVED = `SELECT t.tenant_id, t.schema_name, tenantry.tenant_role(t.schema_name) AS role, t.status,
       t.blueprint, t.blueprint_version, t.template_id, p.name AS template_name, t.template_version,
       t.settings::text AS settings, t.limits::text AS limits,
       (SELECT coalesce(jsonb_agg(d.host ORDER BY d.position), '[]'::jsonb) FROM tenantry.tenant_domains d
         WHERE d.tenant_id = t.tenant_id AND d.released_at IS NULL) AS domains
  FROM tenantry.tenants t LEFT JOIN tenantry.templates p ON p.template_id = t.template_id`;

/**
 * The statement for each key: index lookups only. By id, the registry's primary key. By host, the
 * host index of tenant_domains (control migration 0019): the tenant that holds it, else the one
 * that released it last (a deprovisioned tenant, so that its host answers 410, not 404).
 */
export const RESOLVE_SQL = {
  id: `${SELECT_RESOLVED} WHERE t.tenant_id = $1`,
  host: `${SELECT_RESOLVED}
 WHERE t.tenant_id = (SELECT h.tenant_id FROM tenantry.tenant_domains h WHERE h.host = $1
                        ORDER BY h.released_at DESC NULLS FIRST LIMIT 1)`,
} as const;

/**
 * The tenant a host or a tenant id names, in one statement (RESOLVE_SQL), or undefined when none
 * does or it does not exist yet for an application (still provisioning, or its provisioning failed
 * or was cancelled: resolveOutcome `absent`). A tenant that is gone (disabled, deprovisioning,
 * deprovisioned) is returned with its status, for the caller to refuse (GET /resolve: 410). A host
 * is matched exactly once normalised (shared/domains.ts: lowercase, no trailing dot, punycode); one
 * that is no host name names no tenant.
 */
export async function resolveTenant(db: SqlExecutor, key: ResolveKey): Promise<ResolvedTenant | undefined> {
  let sql: string;
  let param: string;
  if ('host' in key) {
    const normal = normaliseHost(key.host);
    if ('problem' in normal) return undefined;
    sql = RESOLVE_SQL.host;
    param = normal.host;
  } else {
    sql = RESOLVE_SQL.id;
    param = key.id;
  }
  const { rows } = await db.query(sql, [param], {
    prepare: `tenantry_resolve_${'host' in key ? 'host' : 'id'}`,
  });
  const r = rows[0];
  if (!r) return undefined;
  const status = r.status as TenantStatus;
  if (resolveOutcome(status) === 'absent') return undefined;
  const templateId = (r.template_id as string | null) ?? null;
  return {
    tenantId: r.tenant_id as string,
    schema: r.schema_name as string,
    role: r.role as string,
    status,
    blueprint: r.blueprint as string,
    blueprintVersion: r.blueprint_version as number,
    template:
      templateId === null
        ? null
        : {
            id: templateId,
            name: (r.template_name as string | null) ?? templateId,
            version: r.template_version as number,
          },
    settings: jsonbText(r.settings, {}),
    limits: jsonbText(r.limits, {}),
    domains: (r.domains as string[] | null) ?? [],
  };
}
