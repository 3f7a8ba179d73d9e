import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Blueprint } from '../shared/blueprint';
import { quoteIdent, quoteLiteral } from '../shared/identifiers';
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

export interface FleetOptions {
  /** Called after each batch of clones with the number made so far. */
  readonly progress?: (done: number) => void;
  /**
   * A tenant that the engine provisioned in the same database (its blueprint's version): each clone
   * then gets everything Provision left for it, not just its catalog. In the tenant schema, every
   * row it holds (the seed rows, the rows its triggers wrote, the `_tenantry_migrations` ledger) and
   * its sequences' positions; in the control schema, its registry row, its audit trail and its
   * Provision execution with the history, the reference's tenant id and schema name rewritten to
   * the clone's wherever they appear. Rows are copied with triggers off
   * (`session_replication_role = replica`: needs a superuser), as they are, not made again.
   * @default none: the catalog, an empty ledger and a bare `active` registry row
   */
  readonly like?: string;
}

/**
 * Makes `count` existing tenants of `blueprint` cheaply: the floor's DDL and indexes (no seed rows),
 * plus the migration ledger the engine keeps in each tenant schema, `PER_QUERY` tenants per query
 * (one transaction each), and an active registry row per tenant (or, with `options.like`, copies of
 * what Provision left for that tenant: see FleetOptions); then ANALYZEs the catalogs, as autovacuum
 * would after such growth. Returns the wall time in ms.
 */
export async function cloneFleet(
  url: string,
  blueprint: Blueprint,
  count: number,
  progressOrOptions: ((done: number) => void) | FleetOptions = {},
): Promise<number> {
  const options: FleetOptions =
    typeof progressOrOptions === 'function' ? { progress: progressOrOptions } : progressOrOptions;
  const progress = options.progress ?? (() => {});
  const t0 = performance.now();
  const reference = options.like === undefined ? undefined : await readReference(url, options.like);
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
            ...(reference ? reference.copyInto(schema) : []),
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
    if (reference) {
      await client.query('BEGIN');
      for (const statement of reference.controlRows) await client.query(statement, [JSON.stringify(tenants)]);
      await client.query('COMMIT');
    } else {
      await client.query(
        `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version,
                                   requested_by, execution_id, provisioned_at)
     SELECT t->>'id', t->>'id', t->>'schema', 'active', $1, $2, 'bench', 'bench-fleet', now()
       FROM jsonb_array_elements($3::jsonb) t`,
        [blueprint.name, blueprint.version, JSON.stringify(tenants)],
      );
    }
    await client.query(`ANALYZE ${CATALOGS.map((c) => `pg_catalog.${c}`).join(', ')}`);
    if (reference)
      await client.query(`ANALYZE ${CONTROL_TABLES.map((t) => `tenantry.${t.table}`).join(', ')}`);
  } finally {
    await client.end();
  }
  return performance.now() - t0;
}

/**
 * The control tables that hold a provisioned tenant's rows, and which of their rows are its: each
 * is copied for every clone with the reference's tenant id and schema name rewritten. In
 * dependency order (events refer to their execution).
 */
const CONTROL_TABLES = [
  { table: 'tenants', rowsOf: 'tenant_id = $ref' },
  { table: 'audit_log', rowsOf: 'tenant_id = $ref' },
  { table: 'executions', rowsOf: 'tenant_id = $ref' },
  {
    table: 'execution_events',
    rowsOf: 'execution_id IN (SELECT execution_id FROM tenantry.executions WHERE tenant_id = $ref)',
  },
] as const;

interface Reference {
  /** The statements (in the clone's transaction, search_path untouched) that copy its schema's rows. */
  copyInto(schema: string): string[];
  /** One statement per control table; $1 is the clones as a JSON array of {id, schema}. */
  readonly controlRows: readonly string[];
}

/** Reads what a clone must copy from the reference tenant: its tables' columns and its sequences. */
async function readReference(url: string, tenantId: string): Promise<Reference> {
  const refSchema = schemaNameFor(tenantId);
  const client = new pg.Client({ connectionString: url, application_name: 'tenantry-bench-fleet' });
  await client.connect();
  try {
    const registered = await client.query('SELECT 1 FROM tenantry.tenants WHERE tenant_id = $1', [tenantId]);
    if (registered.rowCount !== 1)
      throw new Error(`the fleet's reference tenant ${tenantId} is not registered`);
    // Every ordinary table of the schema with its stored columns (generated ones are computed again).
    const { rows: tables } = await client.query<{ table: string; columns: string[] }>(
      `SELECT c.relname AS table, array_agg(a.attname::text ORDER BY a.attnum) AS columns
         FROM pg_class c
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'
        GROUP BY c.relname ORDER BY c.relname`,
      [refSchema],
    );
    const copies: { table: string; columns: string[] }[] = [];
    for (const t of tables) {
      const { rows } = await client.query(
        `SELECT 1 FROM ONLY ${quoteIdent(refSchema)}.${quoteIdent(t.table)} LIMIT 1`,
      );
      if (rows.length > 0) copies.push(t);
    }
    const { rows: sequences } = await client.query<{ name: string; last: string }>(
      `SELECT sequencename AS name, last_value::text AS last FROM pg_sequences
        WHERE schemaname = $1 AND last_value IS NOT NULL ORDER BY 1`,
      [refSchema],
    );
    const controlRows: string[] = [];
    for (const { table, rowsOf } of CONTROL_TABLES) {
      // Identity and generated columns are left to the table (audit_log's id is GENERATED ALWAYS).
      const { rows: cols } = await client.query<{ name: string; type: string; text: boolean }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
                a.atttypid IN ('text'::regtype, 'jsonb'::regtype, 'json'::regtype, 'varchar'::regtype) AS text
           FROM pg_attribute a
          WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
            AND a.attidentity = '' AND a.attgenerated = ''
          ORDER BY a.attnum`,
        [`tenantry.${table}`],
      );
      const rewrite = (c: { name: string; type: string; text: boolean }) =>
        c.text
          ? `replace(replace(r.${quoteIdent(c.name)}::text, ${quoteLiteral(tenantId)}, c->>'id'), ` +
            `${quoteLiteral(refSchema)}, c->>'schema')::${c.type}`
          : `r.${quoteIdent(c.name)}`;
      controlRows.push(
        `INSERT INTO tenantry.${table} (${cols.map((c) => quoteIdent(c.name)).join(', ')})
         SELECT ${cols.map(rewrite).join(', ')}
           FROM jsonb_array_elements($1::jsonb) c, tenantry.${table} r
          WHERE r.${rowsOf.replace('$ref', quoteLiteral(tenantId))}
          ORDER BY c->>'id'${table === 'audit_log' ? ', r.id' : ''}`,
      );
    }
    return {
      controlRows,
      copyInto: (schema) => [
        // The rows as they are: triggers (audit, defaults by trigger, foreign-key checks) stay off.
        'SET LOCAL session_replication_role = replica;',
        ...copies.map(({ table, columns }) => {
          const cols = columns.map(quoteIdent).join(', ');
          return (
            `INSERT INTO ${quoteIdent(schema)}.${quoteIdent(table)} (${cols}) OVERRIDING SYSTEM VALUE ` +
            `SELECT ${cols} FROM ONLY ${quoteIdent(refSchema)}.${quoteIdent(table)};`
          );
        }),
        ...sequences.map(
          (s) =>
            `SELECT setval(${quoteLiteral(`${quoteIdent(schema)}.${quoteIdent(s.name)}`)}, ${s.last}, true);`,
        ),
        'SET LOCAL session_replication_role = origin;',
      ],
    };
  } finally {
    await client.end();
  }
}

/** The number of tenant schemas in the database (Tenantry's `tenant_` prefix). */
export async function tenantSchemaCount(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'",
  );
  return rows[0]?.n ?? 0;
}
