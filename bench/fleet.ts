import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Blueprint } from '../shared/blueprint';
import { quoteIdent } from '../shared/identifiers';
import { schemaNameFor } from '../shared/tenant-id';
import { floorScript } from './floor';

/** Tenants cloned per query (each in its own transaction: one tenant's DDL takes a few hundred locks). */
const PER_QUERY = 25;

/** The catalogs the engine's statements and Verify's catalog read look at, analyzed after the clone. */
const CATALOGS = [
  'pg_namespace',
  'pg_class',
  'pg_attribute',
  'pg_attrdef',
  'pg_constraint',
  'pg_index',
  'pg_trigger',
  'pg_type',
  'pg_enum',
  'pg_proc',
  'pg_depend',
  'pg_sequence',
];

export const fleetTenantId = (i: number) => `fleet-${String(i).padStart(5, '0')}`;

/**
 * Makes `count` existing tenants of `blueprint` cheaply: the floor's DDL and indexes (no seed rows),
 * plus the migration ledger the engine keeps in each tenant schema, `PER_QUERY` tenants per query
 * (one transaction each), and an active registry row per tenant; then ANALYZEs the catalogs, as
 * autovacuum would after such growth. Returns the wall time in ms.
 */
export async function cloneFleet(
  url: string,
  blueprint: Blueprint,
  count: number,
  progress: (done: number) => void = () => {},
): Promise<number> {
  const t0 = performance.now();
  const batches: number[] = [];
  for (let from = 1; from <= count; from += PER_QUERY) batches.push(from);
  let done = 0;
  // Two connections at once: the bench machine has 2 cores.
  const worker = async () => {
    const client = new pg.Client({ connectionString: url, application_name: 'tenantry-bench-fleet' });
    await client.connect();
    try {
      for (let from = batches.shift(); from !== undefined; from = batches.shift()) {
        const parts: string[] = [];
        for (let i = from; i < from + PER_QUERY && i <= count; i++) {
          const schema = schemaNameFor(fleetTenantId(i));
          parts.push(
            // Setup, not measured: its commits need not wait for the disk.
            'BEGIN; SET LOCAL synchronous_commit = off;',
            floorScript(blueprint, schema, { seed: false }),
            `CREATE TABLE ${quoteIdent(schema)}._tenantry_migrations (version integer PRIMARY KEY, name text NOT NULL,` +
              ' checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), execution_id text NOT NULL);',
            'COMMIT;',
          );
        }
        await client.query(parts.join('\n'));
        done += Math.min(PER_QUERY, count - from + 1);
        progress(done);
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all([worker(), worker()]);
  const client = new pg.Client({ connectionString: url, application_name: 'tenantry-bench-fleet' });
  await client.connect();
  try {
    const tenants = Array.from({ length: count }, (_, i) => {
      const id = fleetTenantId(i + 1);
      return { id, schema: schemaNameFor(id) };
    });
    await client.query(
      `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version,
                                   requested_by, execution_id, provisioned_at)
     SELECT t->>'id', t->>'id', t->>'schema', 'active', $1, $2, 'bench', 'bench-fleet', now()
       FROM jsonb_array_elements($3::jsonb) t`,
      [blueprint.name, blueprint.version, JSON.stringify(tenants)],
    );
    await client.query(`ANALYZE ${CATALOGS.map((c) => `pg_catalog.${c}`).join(', ')}`);
  } finally {
    await client.end();
  }
  return performance.now() - t0;
}

/** The number of tenant schemas in the database (Tenantry's `tenant_` prefix). */
export async function tenantSchemaCount(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'",
  );
  return rows[0]?.n ?? 0;
}
