#!/usr/bin/env -S npx tsx
/**
 * Resolving a tenant in process (tenantry/client's TenantResolver): its latency with a warm cache
 * and on a miss (one `resolveTenant` statement), beside the baseline, a plain read of the registry
 * (`SELECT ... FROM tenantry.tenants WHERE tenant_id = $1`, prepared) on the same open pool. Each
 * arm: `--callers` concurrent callers, each calling one after the other, on random tenants of a
 * registry of `--tenants` (one host each); arms interleaved, `--repeats` times; p50/p99 per repeat,
 * then the median of the repeats. Results: bench/results/resolve-<date>.json and README.md there.
 *
 *   npm run bench:resolve -- [--backends postgres,pglite] [--repeats 5] [--callers 16] [--tenants 1000]
 *
 * postgres is DATABASE_URL (or postgres://postgres@127.0.0.1:5432/postgres), in a scratch database
 * dropped at the end; pglite an embedded database in memory (one session: its callers queue).
 */
import '../local/bin/node-version.mjs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { TenantResolver } from '../local/tenant-resolver';
import { ensureControlSchema } from '../shared/registry/control';
import { dropLeftoverTenantRolesSql } from '../shared/registry/leftover-roles';
import { PgliteClient } from '../shared/sql/pglite';
import type { SqlClient } from '../shared/sql/port';
import { PostgresClient } from '../shared/sql/postgres';
import { writeSection } from './report';
import { median, percentile } from './stats';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'postgres,pglite' },
    repeats: { type: 'string', default: '5' },
    callers: { type: 'string', default: '16' },
    tenants: { type: 'string', default: '1000' },
    'warm-calls': { type: 'string', default: '5000' },
    'db-calls': { type: 'string', default: '200' },
    'dry-run': { type: 'boolean', default: false },
  },
});
const repeats = Number(values.repeats);
const callers = Number(values.callers);
const tenants = Number(values.tenants);
const warmCalls = Number(values['warm-calls']);
const dbCalls = Number(values['db-calls']);
const backends = (values.backends ?? '').split(',').filter(Boolean);

const ARMS = ['warm', 'miss', 'baseline'] as const;
type Arm = (typeof ARMS)[number];
const BASELINE_SQL =
  'SELECT tenant_id, schema_name, status, blueprint_version FROM tenantry.tenants WHERE tenant_id = $1';

const r4 = (v: number) => Math.round(v * 10_000) / 10_000;

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** `tenants` registry rows with one host each, as a workflow would leave them (no schemas: resolving reads the registry only). */
async function fill(db: SqlClient): Promise<void> {
  await ensureControlSchema(db);
  await db.query(
    `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version, requested_by, execution_id)
     SELECT 'bench-' || i, 'Bench ' || i, 'tenant_bench_' || i, 'active', 'docex', 1, 'bench', 'x' FROM generate_series(1, $1::int) i`,
    [tenants],
  );
  await db.query(
    `INSERT INTO tenantry.tenant_domains (tenant_id, host, position)
     SELECT 'bench-' || i, 'bench-' || i || '.example.com', 0 FROM generate_series(1, $1::int) i`,
    [tenants],
  );
  await db.query('ANALYZE tenantry.tenants');
  await db.query('ANALYZE tenantry.tenant_domains');
}

/** Each tenant's host and id, made once: building them is no part of a resolve (index 0 unused). */
const hosts = Array.from({ length: tenants + 1 }, (_, i) => `bench-${i}.example.com`);
const ids = Array.from({ length: tenants + 1 }, (_, i) => `bench-${i}`);

/**
 * `callers` concurrent loops of `calls` calls each; every call's latency in ms, ascending. The
 * harness allocates nothing per call of its own: the latencies go to an array made beforehand.
 */
async function load(calls: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples = new Float64Array(callers * calls);
  let taken = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let n = 0; n < calls; n++) {
        const i = 1 + Math.floor(Math.random() * tenants);
        const t0 = performance.now();
        await call(i);
        samples[taken++] = performance.now() - t0;
      }
    }),
  );
  return Array.from(samples.sort());
}

async function measure(db: SqlClient): Promise<Record<Arm, { p50: number[]; p99: number[]; n: number }>> {
  const out = Object.fromEntries(
    ARMS.map((a) => [a, { p50: [] as number[], p99: [] as number[], n: 0 }]),
  ) as Record<Arm, { p50: number[]; p99: number[]; n: number }>;
  const warm = new TenantResolver({ db, ttlMs: 3_600_000, maxEntries: 10 * tenants });
  for (let i = 1; i <= tenants; i++) await warm.resolve({ host: hosts[i] as string });
  // ttlMs 0: every call misses and sends resolveTenant's one statement.
  const cold = new TenantResolver({ db, ttlMs: 0, negativeTtlMs: 0, goneTtlMs: 0 });
  const run: Record<Arm, () => Promise<number[]>> = {
    // A key object per call, as an application makes one per request.
    warm: () => load(warmCalls, (i) => warm.resolve({ host: hosts[i] as string })),
    miss: () => load(dbCalls, (i) => cold.resolve({ host: hosts[i] as string })),
    baseline: () =>
      load(dbCalls, (i) => db.query(BASELINE_SQL, [ids[i] as string], { prepare: 'bench_baseline' })),
  };
  // A warm-up of each arm, not counted (plans, prepared statements, JIT).
  for (const arm of ARMS) await run[arm]();
  for (let r = 0; r < repeats; r++) {
    for (const arm of r % 2 ? [...ARMS].reverse() : ARMS) {
      const s = await run[arm]();
      out[arm].p50.push(percentile(s, 50));
      out[arm].p99.push(percentile(s, 99));
      out[arm].n = s.length;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  const command = `npm run bench:resolve -- ${process.argv.slice(2).join(' ')}`.trim();
  const results: Record<string, unknown> = {};
  const rows: string[] = [];
  let version = '';
  for (const backend of backends) {
    let db: SqlClient;
    let drop: (() => Promise<void>) | undefined;
    if (backend === 'postgres') {
      const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
      const name = `tenantry_bench_resolve_${process.pid}`;
      await admin(url, `CREATE DATABASE ${name}`);
      const dbUrl = new URL(url);
      dbUrl.pathname = `/${name}`;
      db = new PostgresClient({ connectionString: dbUrl.toString(), maxConnections: callers });
      drop = async () => {
        await admin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin(url, dropLeftoverTenantRolesSql(name));
      };
      version =
        String((await db.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '').split(' on ')[0] ??
        '';
    } else {
      db = await PgliteClient.open();
    }
    try {
      await fill(db);
      const m = await measure(db);
      const summary = Object.fromEntries(
        ARMS.map((a) => [
          a,
          {
            p50: r4(median(m[a].p50)),
            p99: r4(median(m[a].p99)),
            samplesPerRepeat: m[a].n,
            p50s: m[a].p50.map(r4),
            p99s: m[a].p99.map(r4),
          },
        ]),
      ) as unknown as Record<Arm, { p50: number; p99: number }>;
      results[backend] = summary;
      const base = summary.baseline;
      for (const a of ARMS) {
        const s = summary[a];
        rows.push(
          `| ${backend} | ${a === 'warm' ? 'TenantResolver, warm cache' : a === 'miss' ? 'TenantResolver, miss (resolveTenant)' : 'baseline: plain registry read, prepared'} | ${s.p50} | ${s.p99} | ${r4(s.p50 / base.p50)}x | ${r4(s.p99 / base.p99)}x |`,
        );
      }
    } finally {
      await db.close();
      await drop?.();
    }
  }
  const warmP99 = (results.postgres as Record<Arm, { p99: number }> | undefined)?.warm.p99;
  const summary = [
    `## Resolve, ${date}`,
    '',
    `\`${command}\`: ${tenants} tenants (one host each) in the registry; ${callers} concurrent callers on random tenants, by host; ${repeats} repeats, arms interleaved, after a warm-up of each; p50 and p99 of each repeat, the median of the repeats here (each repeat's in the JSON). Warm: ${warmCalls} calls per caller per repeat; miss and baseline: ${dbCalls}. Node ${process.version}, ${version || 'PGlite only'}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')} at the end.`,
    '',
    '| backend | path | p50 ms | p99 ms | p50 / baseline | p99 / baseline |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `**Goal** (issue 15): a warm resolve at most 0.05 ms p99: ${warmP99 === undefined ? 'not measured on the server' : `${warmP99} ms on the server, ${warmP99 <= 0.05 ? 'met' : 'NOT met'}`}.`,
    '',
    "Latencies are client-side, from the call to its answer, in one Node process: with 16 callers a call also waits for the others' turns on the event loop (warm) or for a pooled connection (miss, baseline: a pool of 16 connections on the server; PGlite is one session, so its callers queue).",
  ].join('\n');
  console.log(summary);
  if (!values['dry-run'])
    await writeSection('resolve', date, { date, command, callers, tenants, repeats, results }, summary);
}

await main();
