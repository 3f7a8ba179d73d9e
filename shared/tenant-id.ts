import { ValidationError } from './errors';
import { MAX_IDENTIFIER_BYTES } from './identifiers';

export const TENANT_ID_MIN = 3;
export const TENANT_ID_MAX = 40;
export const TENANT_SCHEMA_PREFIX = 'tenant_';
/** The schema that holds the registry, audit trail and local execution store. */
export const CONTROL_SCHEMA = 'tenantry';

const TENANT_ID_PATTERN = /^[a-z][a-z0-9_-]*[a-z0-9]$/;

/** Names a tenant may not take: Postgres's own schemas, ours, and names that would confuse people. */
export const RESERVED_TENANT_IDS: ReadonlySet<string> = new Set([
  'public',
  'information_schema',
  CONTROL_SCHEMA,
  'admin',
  'administrator',
  'api',
  'default',
  'postgres',
  'root',
  'system',
  'template0',
  'template1',
  'tenant',
  'tenants',
]);

export const TENANT_ID_RULE =
  `${TENANT_ID_MIN}-${TENANT_ID_MAX} characters: lowercase letters, digits, '-' or '_'; ` +
  'starts with a letter, ends with a letter or digit, no doubled separators';

/** Why a tenant id is not acceptable, or undefined when it is. */
export function tenantIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length < TENANT_ID_MIN) return `'${id}' is too short: ${TENANT_ID_RULE}`;
  if (id.length > TENANT_ID_MAX) return `is ${id.length} characters long: ${TENANT_ID_RULE}`;
  if (!TENANT_ID_PATTERN.test(id) || /[-_]{2}/.test(id)) return `'${id}' is not allowed: ${TENANT_ID_RULE}`;
  if (id.startsWith('pg_') || id.startsWith('pg-'))
    return `'${id}' is reserved: names starting with 'pg_' belong to Postgres`;
  if (RESERVED_TENANT_IDS.has(id)) return `'${id}' is a reserved name`;
  return undefined;
}

export function assertTenantId(id: unknown, field = 'tenantId'): asserts id is string {
  const problem = tenantIdProblem(id);
  if (problem) throw new ValidationError([{ field, reason: problem }]);
}

/**
 * The Postgres schema that holds a tenant's data: `tenant_` + the id with '-' folded to '_', so it
 * never needs quoting in a psql session. Two ids that fold to one schema (`a-b`, `a_b`) conflict;
 * the registry's unique schema_name refuses the second.
 */
export function schemaNameFor(tenantId: string): string {
  assertTenantId(tenantId);
  const schema = TENANT_SCHEMA_PREFIX + tenantId.replaceAll('-', '_');
  // Guaranteed by TENANT_ID_MAX; kept as a check so a change to either constant cannot break it silently.
  if (Buffer.byteLength(schema) > MAX_IDENTIFIER_BYTES) {
    throw new ValidationError([{ field: 'tenantId', reason: 'derived schema name exceeds 63 bytes' }]);
  }
  return schema;
}
