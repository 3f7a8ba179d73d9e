import { type TenantDrift, TenantDriftSchema } from '../drift/schemas';
import { DomainTakenError, SchemaNameTakenError } from '../errors';
import { jsonbText } from '../json';
import type { SqlExecutor } from '../sql/port';
import { schemaNameFor } from '../tenant-id';

import type { TenantStatus } from './lifecycle';

export type { TenantStatus } from './lifecycle';

export interface TenantRecord {
  readonly tenantId: string;
  readonly displayName: string;
  readonly schemaName: string;
  readonly status: TenantStatus;
  readonly blueprint: string;
  readonly blueprintVersion: number;
  readonly requestedBy: string;
  readonly executionId: string;
  readonly failedStep: string | null;
  readonly lastError: unknown;
  readonly warnings: unknown[];
  readonly summary: Record<string, unknown> | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly provisionedAt: string | null;
  /** The template (its id, name and version) the tenant was made from, if any. */
  readonly templateId: string | null;
  readonly templateName: string | null;
  readonly templateVersion: number | null;
  /**
   * The template version's settings and limits, as ApplySettings stored them ({} without a
   * template). Read as text: a number JavaScript cannot hold exactly stays its text (shared/json.ts).
   */
  readonly settings: Record<string, unknown>;
  readonly limits: Record<string, unknown>;
  /** The hosts it holds, in their order (shared/domains.ts); a deprovisioned tenant holds none. */
  readonly domains: string[];
  /** When a scheduled deprovisioning runs (status `scheduled_for_deletion`). */
  readonly deletionDueAt: string | null;
  /** Where a deprovisioned tenant's backup is. */
  readonly backupLocation: string | null;
  readonly deprovisionedAt: string | null;
  /** What the last verify found different from the blueprint's lock; null when nothing (or never verified). */
  readonly drift: TenantDrift | null;
  /** When the tenant was last verified (`tenantry verify`, `GET /tenants/{id}/drift`). */
  readonly driftCheckedAt: string | null;
  /** Labels to pick the tenant out by (shared/labels.ts). */
  readonly labels: Record<string, string>;
  /**
   * The tenant's own login, while it has one: its role and where its password is (a Secrets
   * Manager ARN, or a local file's path), never the password (README "Tenant access").
   */
  readonly login: TenantLogin | null;
}

export interface TenantLogin {
  readonly role: string;
  readonly secret: string;
}

export interface AuditEntry {
  /** The entry's bigint id, as text. */
  readonly id: string;
  readonly tenantId: string;
  readonly action: string;
  readonly actor: string;
  readonly executionId: string | null;
  readonly detail: Record<string, unknown>;
  readonly at: string;
}

/** Held domains of the row `tenants`, in their order, as a jsonb array. */
const DOMAINS_OF = (tenant: string) =>
  `(SELECT coalesce(jsonb_agg(d.host ORDER BY d.position), '[]'::jsonb) FROM tenantry.tenant_domains d
     WHERE d.tenant_id = ${tenant}.tenant_id AND d.released_at IS NULL)`;

const TENANT_COLUMNS = `tenant_id, display_name, schema_name, status, blueprint, blueprint_version, requested_by,
  execution_id, failed_step, last_error, warnings, summary, created_at, updated_at, provisioned_at,
  template_id, (SELECT p.name FROM tenantry.templates p WHERE p.template_id = tenants.template_id) AS template_name,
  template_version, settings::text AS settings, limits::text AS limits, ${DOMAINS_OF('tenants')} AS domains,
  deletion_due_at, backup_location, deprovisioned_at, drift, drift_checked_at, labels, login_role, login_secret`;

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

function toTenant(r: Record<string, unknown>): TenantRecord {
  return {
    tenantId: r.tenant_id as string,
    displayName: r.display_name as string,
    schemaName: r.schema_name as string,
    status: r.status as TenantStatus,
    blueprint: r.blueprint as string,
    blueprintVersion: r.blueprint_version as number,
    requestedBy: r.requested_by as string,
    executionId: r.execution_id as string,
    failedStep: (r.failed_step as string | null) ?? null,
    lastError: r.last_error ?? null,
    warnings: (r.warnings as unknown[]) ?? [],
    summary: (r.summary as Record<string, unknown> | null) ?? null,
    createdAt: iso(r.created_at) ?? '',
    updatedAt: iso(r.updated_at) ?? '',
    provisionedAt: iso(r.provisioned_at),
    templateId: (r.template_id as string | null) ?? null,
    templateName: (r.template_name as string | null) ?? null,
    templateVersion: (r.template_version as number | null) ?? null,
    settings: jsonbText(r.settings, {}),
    limits: jsonbText(r.limits, {}),
    domains: (r.domains as string[] | null) ?? [],
    deletionDueAt: iso(r.deletion_due_at),
    backupLocation: (r.backup_location as string | null) ?? null,
    deprovisionedAt: iso(r.deprovisioned_at),
    drift: r.drift === null || r.drift === undefined ? null : TenantDriftSchema.parse(r.drift),
    driftCheckedAt: iso(r.drift_checked_at),
    labels: (r.labels as Record<string, string> | null) ?? {},
    login:
      typeof r.login_role === 'string' && typeof r.login_secret === 'string'
        ? { role: r.login_role, secret: r.login_secret }
        : null,
  };
}

export async function getTenant(db: SqlExecutor, tenantId: string): Promise<TenantRecord | undefined> {
  const { rows } = await db.query(`SELECT ${TENANT_COLUMNS} FROM tenantry.tenants WHERE tenant_id = $1`, [
    tenantId,
  ]);
  return rows[0] ? toTenant(rows[0]) : undefined;
}

/**
 * SchemaNameTakenError when another tenant has the schema `tenantId` maps to: ids that fold to one
 * schema name (`a-b`, `a_b`) cannot both be tenants, whatever the other's status. Validate's
 * claim refuses it too; checked before a start, no execution is started only to fail.
 */
export async function assertSchemaNameFree(db: SqlExecutor, tenantId: string): Promise<void> {
  const schemaName = schemaNameFor(tenantId);
  const { rows } = await db.query<{ tenant_id: string }>(
    'SELECT tenant_id FROM tenantry.tenants WHERE schema_name = $1 AND tenant_id <> $2 LIMIT 1',
    [schemaName, tenantId],
  );
  const holder = rows[0]?.tenant_id;
  if (holder) throw new SchemaNameTakenError(tenantId, schemaName, holder);
}

/**
 * DomainTakenError naming the first of `domains` another tenant holds: checked before a start, so
 * no execution is started only to fail its claim (claim_tenant refuses it too, and the unique index
 * on held hosts settles a race).
 */
export async function assertDomainsFree(
  db: SqlExecutor,
  tenantId: string,
  domains: readonly string[],
): Promise<void> {
  if (domains.length === 0) return;
  const { rows } = await db.query<{ host: string; tenant_id: string }>(
    `SELECT host, tenant_id FROM tenantry.tenant_domains
      WHERE host = ANY ($1::text[]) AND released_at IS NULL AND tenant_id <> $2`,
    [`{${domains.join(',')}}`, tenantId],
  );
  const held = rows.map((r) => ({ ...r, at: domains.indexOf(r.host) })).sort((a, b) => a.at - b.at)[0];
  if (held)
    throw new DomainTakenError(`domain ${held.host} is held by tenant ${held.tenant_id}`, {
      field: `domains.${held.at}`,
    });
}

export interface ListTenantsOptions {
  readonly status?: TenantStatus;
  /** Return tenants whose id sorts after this one (keyset paging). */
  readonly after?: string;
  /** @default 50 */
  readonly limit?: number;
}

export async function listTenants(
  db: SqlExecutor,
  options: ListTenantsOptions = {},
): Promise<TenantRecord[]> {
  const { rows } = await db.query(
    `SELECT ${TENANT_COLUMNS} FROM tenantry.tenants
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR tenant_id > $2)
      ORDER BY tenant_id LIMIT $3`,
    [options.status ?? null, options.after ?? null, Math.min(Math.max(options.limit ?? 50, 1), 500)],
  );
  return rows.map(toTenant);
}

// The id goes out as text (a bigint): rows are ordered by the table's own column, `a.id`, never by
// that text.
const AUDIT_COLUMNS = 'a.id::text AS id, a.tenant_id, a.action, a.actor, a.execution_id, a.detail, a.at';

function toAuditEntry(r: Record<string, unknown>): AuditEntry {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    action: r.action as string,
    actor: r.actor as string,
    executionId: (r.execution_id as string | null) ?? null,
    detail: (r.detail as Record<string, unknown>) ?? {},
    at: iso(r.at) ?? '',
  };
}

/** A tenant's whole audit trail, oldest first. */
export async function auditTrail(db: SqlExecutor, tenantId: string): Promise<AuditEntry[]> {
  const { rows } = await db.query(
    `SELECT ${AUDIT_COLUMNS} FROM tenantry.audit_log a WHERE a.tenant_id = $1 ORDER BY a.id`,
    [tenantId],
  );
  return rows.map(toAuditEntry);
}

export interface AuditQuery {
  /** One tenant's entries (a rollout's are under `rollout:<id>`). */
  readonly tenantId?: string;
  /** An action (`provision.started`) or its family (`provision`). */
  readonly action?: string;
  /** Entries at or after this instant (ISO 8601). */
  readonly since?: string;
  /** Entries before this instant. */
  readonly until?: string;
  readonly limit: number;
  /** The id of the last entry of the page before: the next page holds older entries. */
  readonly before?: string;
}

/** Audit entries, newest first, a page at a time (keyset paging by id). */
export async function auditPage(db: SqlExecutor, q: AuditQuery): Promise<AuditEntry[]> {
  const { rows } = await db.query(
    `SELECT ${AUDIT_COLUMNS} FROM tenantry.audit_log a
      WHERE ($1::text IS NULL OR a.tenant_id = $1)
        AND ($2::text IS NULL OR a.action = $2 OR left(a.action, length($2) + 1) = $2 || '.')
        AND ($3::timestamptz IS NULL OR a.at >= $3::timestamptz)
        AND ($4::timestamptz IS NULL OR a.at < $4::timestamptz)
        AND ($5::bigint IS NULL OR a.id < $5::bigint)
      ORDER BY a.id DESC LIMIT $6`,
    [q.tenantId ?? null, q.action ?? null, q.since ?? null, q.until ?? null, q.before ?? null, q.limit],
  );
  return rows.map(toAuditEntry);
}
