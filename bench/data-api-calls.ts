/**
 * `npx tsx bench/data-api-calls.ts [--url postgres://...]`: RDS Data API calls per provisioning,
 * for docex and school-erp, through the Data API adapter and the test server
 * (test/support/data-api-server.ts), over the Postgres server at --url / DATABASE_URL, or over
 * PGlite when neither is given.
 *
 * - adapter: the Provision workflow through the local engine; each step's calls are counted at the
 *   server (the engine's own execution-store writes left out: on AWS, Step Functions keeps those).
 * - naive: the same tenant built with one call per statement (every migration statement, index and
 *   seed row, plus the registry, ledger and audit statements), through the same server, in the same
 *   process; its catalog is checked against the lock so both paths build the same schema.
 *
 * Writes bench/results/data-api-calls-<date>.json.
 */
import '../local/bin/node-version.mjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../local/engine';
import { type Blueprint, BlueprintCatalog } from '../shared/blueprint';
import { readCatalog } from '../shared/catalog';
import { quoteIdent } from '../shared/identifiers';
import { ensureControlSchema } from '../shared/registry/control';
import type { DataApiClient } from '../shared/sql/data-api';
import { splitSqlStatements } from '../shared/sql/split';
import { schemaNameFor } from '../shared/tenant-id';
import { PROVISION } from '../statemachine/workflows';
import { stepCallCounter } from '../test/support/data-api-calls';
import type { DataApiServer } from '../test/support/data-api-server';
import { openDataApi } from '../test/support/databases';

process.env.TENANTRY_LOG_LEVEL ??= 'silent';

const BLUEPRINTS = ['docex', 'school-erp'];
const GOAL_MAX_CALLS = 10;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface PathResult {
  readonly perStep: Record<string, number>;
  readonly total: number;
}

async function adapterRun(db: DataApiClient, server: DataApiServer, blueprint: string) {
  const counter = stepCallCounter(server);
  const engine = new LocalEngine({ db, retryDelayMs: 0, ...counter.hooks });
  const tenantId = `bench-${blueprint}`;
  server.resetCounts();
  const run = await engine.start(PROVISION, tenantId, {
    tenantId,
    displayName: `Bench ${blueprint}`,
    blueprint,
    requestedBy: 'bench',
  });
  const record = await run.done;
  if (record.status !== 'SUCCEEDED') throw new Error(`provisioning ${blueprint} ended ${record.status}`);
  return {
    perStep: counter.perStep,
    total: counter.total(),
    engineStoreCallsLeftOut: server.totalCalls() - counter.total(),
  };
}

/** One Data API call per statement: what a straightforward port of the steps would cost. */
async function naiveRun(db: DataApiClient, server: DataApiServer, bp: Blueprint): Promise<PathResult> {
  const tenantId = `naive-${bp.name}`;
  const schema = schemaNameFor(tenantId);
  const q = quoteIdent(schema);
  const execution = `naive-${bp.name}-execution`;
  const perStep: Record<string, number> = {};
  const step = async (name: string, work: () => Promise<void>) => {
    const before = server.totalCalls();
    await work();
    perStep[name] = server.totalCalls() - before;
  };
  const withSearchPath = (
    work: (tx: Parameters<Parameters<DataApiClient['transaction']>[0]>[0]) => Promise<void>,
  ) =>
    db.transaction(async (tx) => {
      await tx.query(`SELECT set_config('search_path', $1, true)`, [q]);
      await work(tx);
    });

  await step('Validate', async () => {
    await db.query(
      `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version, requested_by, execution_id)
       VALUES ($1, $2, $3, 'provisioning', $4, $5, 'bench', $6) ON CONFLICT (tenant_id) DO NOTHING`,
      [tenantId, `Naive ${bp.name}`, schema, bp.name, bp.version, execution],
    );
    await db.query(
      `INSERT INTO tenantry.audit_log (tenant_id, action, actor, execution_id) VALUES ($1, 'provision.started', 'bench', $2)`,
      [tenantId, execution],
    );
  });
  await step('CreateSchema', async () => {
    const { rows } = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (rows.length === 0) await db.query(`CREATE SCHEMA ${q}`);
    await db.query('UPDATE tenantry.tenants SET schema_created_by = $2 WHERE tenant_id = $1', [
      tenantId,
      execution,
    ]);
  });
  await step('SyncTables', () =>
    withSearchPath(async (tx) => {
      await tx.query(
        `CREATE TABLE IF NOT EXISTS ${q}._tenantry_migrations (version integer PRIMARY KEY, name text NOT NULL,
           checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), execution_id text NOT NULL)`,
      );
      await tx.query(`SELECT version, checksum FROM ${q}._tenantry_migrations`);
      for (const m of bp.migrations) {
        for (const s of splitSqlStatements(m.sql)) await tx.query(s.sql);
        await tx.query(
          `INSERT INTO ${q}._tenantry_migrations (version, name, checksum, execution_id) VALUES ($1, $2, $3, $4)`,
          [m.version, m.name, m.checksum, execution],
        );
      }
    }),
  );
  await step('CreateIndexes', () =>
    withSearchPath(async (tx) => {
      for (const index of bp.indexes) await tx.query(index.sql);
    }),
  );
  await step('Seed', () =>
    withSearchPath(async (tx) => {
      for (const t of bp.seed) {
        const cols = [...new Set(t.rows.flatMap((r) => Object.keys(r)))].sort().map(quoteIdent).join(', ');
        const table = `${q}.${quoteIdent(t.table)}`;
        for (const row of t.rows) {
          await tx.query(
            `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM jsonb_populate_record(NULL::${table}, $1::jsonb) ON CONFLICT DO NOTHING`,
            [JSON.stringify(row)],
          );
        }
      }
    }),
  );
  await step('Verify', async () => {
    const catalog = await readCatalog(db, schema);
    const expected = bp.lock[String(bp.version)]?.fingerprint;
    if (catalog.fingerprint !== expected)
      throw new Error(`naive ${bp.name}: catalog does not match the lock`);
  });
  await step('Register', async () => {
    await db.query(
      `UPDATE tenantry.tenants SET status = 'active', provisioned_at = now() WHERE tenant_id = $1`,
      [tenantId],
    );
    await db.query(
      `INSERT INTO tenantry.audit_log (tenant_id, action, actor, execution_id) VALUES ($1, 'provision.succeeded', 'bench', $2)`,
      [tenantId, execution],
    );
  });
  return { perStep, total: Object.values(perStep).reduce((a, b) => a + b, 0) };
}

async function main() {
  const { values } = parseArgs({ options: { url: { type: 'string' } } });
  const url = values.url ?? process.env.DATABASE_URL ?? undefined;
  const opened = await openDataApi(url);
  const results: Record<string, unknown> = {};
  try {
    const db = opened.connect();
    // What a cold Lambda container adds once: ensureControlSchema's check (Validate and Cleanup call it).
    opened.server.resetCounts();
    await ensureControlSchema(db);
    await ensureControlSchema(opened.connect());
    opened.server.resetCounts();
    await ensureControlSchema(opened.connect());
    const coldContainerCheck = opened.server.totalCalls();

    const catalog = new BlueprintCatalog();
    for (const name of BLUEPRINTS) {
      const bp = catalog.get(name);
      const adapter = await adapterRun(db, opened.server, name);
      const naive = await naiveRun(db, opened.server, bp);
      results[name] = {
        blueprint: {
          version: bp.version,
          tables: countTables(bp),
          indexes: bp.indexes.length,
          seedRows: seedRows(bp),
        },
        migrationStatements: bp.migrations.reduce((n, m) => n + splitSqlStatements(m.sql).length, 0),
        adapter: {
          ...adapter,
          coldContainerExtra: { Validate: coldContainerCheck },
          totalCold: adapter.total + coldContainerCheck,
        },
        naive,
      };
    }
  } finally {
    await opened.close();
  }
  const worst = Math.max(
    ...Object.values(results).map((r) => (r as { adapter: { totalCold: number } }).adapter.totalCold),
  );
  const date = new Date().toISOString().slice(0, 10);
  const output = {
    benchmark: 'data-api-calls',
    date,
    command: `npx tsx bench/data-api-calls.ts${values.url ? ` --url ${values.url}` : ''}${!values.url && process.env.DATABASE_URL ? ' (DATABASE_URL set)' : ''}`,
    server: url
      ? `Data API test server over ${url.replace(/\/\/[^@]*@/, '//')}`
      : 'Data API test server over PGlite',
    node: process.version,
    results,
    goal: {
      maxCallsPerProvisioning: GOAL_MAX_CALLS,
      worstAdapterTotalCold: worst,
      met: worst <= GOAL_MAX_CALLS,
    },
  };
  const file = join(ROOT, 'bench', 'results', `data-api-calls-${date}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(output, null, 2)}\n`);
  for (const [name, r] of Object.entries(results)) {
    const x = r as {
      adapter: { perStep: Record<string, number>; total: number; totalCold: number };
      naive: PathResult;
    };
    console.log(
      `${name}: adapter ${x.adapter.total} calls (${x.adapter.totalCold} from cold containers) ` +
        `${JSON.stringify(x.adapter.perStep)}; naive ${x.naive.total} calls ${JSON.stringify(x.naive.perStep)}`,
    );
  }
  console.log(
    `goal: at most ${GOAL_MAX_CALLS} calls per provisioning: ${output.goal.met ? 'met' : 'NOT met'}; wrote ${file}`,
  );
}

function countTables(bp: Blueprint): number {
  const objects = bp.lock[String(bp.version)]?.objects ?? [];
  return objects.filter((o) => o.startsWith('table ')).length;
}

function seedRows(bp: Blueprint): number {
  return bp.seed.reduce((n, t) => n + t.rows.length, 0);
}

await main();
