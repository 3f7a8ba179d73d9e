import { createHash } from 'node:crypto';

/** Step Functions' limit on an execution name. */
export const MAX_EXECUTION_NAME = 80;

const HASH_LENGTH = 16;

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_LENGTH);
}

/** JSON with object keys sorted at every level: one text for one meaning. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The execution name of a Provision request: `<tenantId>-<16 hex of sha256(canonical request)>`.
 * The same request always gets the same name, which makes starting idempotent on both engines.
 * A tenant id is at most 40 characters of `[a-z0-9_-]`, so the name is at most 57 characters
 * and only uses characters Step Functions allows.
 */
export function provisionExecutionName(tenantId: string, request: Record<string, unknown>): string {
  return `${tenantId}-${digest(canonicalJson(request))}`.slice(0, MAX_EXECUTION_NAME);
}

/** The name of the execution that redrives `sourceName`: `<tenantId>-r<16 hex>`, one per source. */
export function redriveExecutionName(tenantId: string, sourceName: string): string {
  return `${tenantId}-r${digest(`redrive:${sourceName}`)}`.slice(0, MAX_EXECUTION_NAME);
}

/**
 * The execution name of a Deprovision request made through the API: `<tenantId>-d<16 hex>`, so the
 * same request starts one run however often it is sent.
 */
export function deprovisionExecutionName(tenantId: string, request: Record<string, unknown>): string {
  return `${tenantId}-d${digest(`deprovision:${canonicalJson(request)}`)}`.slice(0, MAX_EXECUTION_NAME);
}

/** The execution that restores a tenant from one backup: `<tenantId>-s<16 hex>`, one per backup. */
export function restoreExecutionName(tenantId: string, manifest: string): string {
  return `${tenantId}-s${digest(`restore:${manifest}`)}`.slice(0, MAX_EXECUTION_NAME);
}

/**
 * The execution that migrates a tenant: `<tenantId>-m<16 hex>` of the request and the execution
 * that last changed the tenant, so the same request starts one run until the tenant changes (a
 * migration ends, or fails and may be asked for again).
 */
export function migrateExecutionName(
  tenantId: string,
  lastExecutionId: string,
  request: Record<string, unknown>,
): string {
  return `${tenantId}-m${digest(`migrate:${lastExecutionId}:${canonicalJson(request)}`)}`.slice(
    0,
    MAX_EXECUTION_NAME,
  );
}

/** A rollout's id, from its canonical request: `r-<16 hex>`, so the same request is the same rollout. */
export function rolloutIdFor(canonicalRequest: string): string {
  return `r-${digest(`rollout:${canonicalRequest}`)}`;
}

/**
 * The execution that runs (or resumes) a rollout: the rollout id for the first, then
 * `<rolloutId>-<16 hex>` of the execution it resumes after, so one resume of one stop is one run.
 */
export function rolloutExecutionName(rolloutId: string, resumesAfter: string): string {
  return resumesAfter ? `${rolloutId}-${digest(`resume:${resumesAfter}`)}` : rolloutId;
}

/** Whether an execution name was made for this tenant by one of the functions above. */
export function belongsToTenant(name: string, tenantId: string): boolean {
  if (!name.startsWith(`${tenantId}-`)) return false;
  return new RegExp(`^[rsm]?[0-9a-f]{${HASH_LENGTH}}$`).test(name.slice(tenantId.length + 1));
}
