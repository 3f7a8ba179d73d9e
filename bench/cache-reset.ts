/**
 * `npm run bench:cache-reset [-- --repeats 15]`: what making a tenant costs the database's OTHER
 * connections. One connection (the app's) runs two prepared statements on an existing school-erp
 * tenant, again and again: Verify's catalog read and an app-like three-table join. Between runs a
 * second connection does one of:
 *
 * - nothing;
 * - `CREATE SCHEMA` (an empty one);
 * - `CREATE TABLE` in an existing schema;
 * - the school-erp indexes on a tenant made without them (CreateIndexes' commit);
 * - a whole school-erp tenant as the floor makes it (bench/floor.ts, one transaction).
 *
 * and the app's next run of each statement is timed. CREATE SCHEMA changes pg_namespace, which
 * resets the plan cache of every backend of the database; a commit with more catalog invalidation
 * messages than PostgreSQL's shared queue holds (4,096) resets every backend's catalog caches too,
 * in every database of the cluster. The medians show what each costs a connection that did
 * nothing but wait. Runs in a scratch database
 * `tenantry_bench_cache_<pid>`, dropped at the end.
 */
import '../local/bin/node-version.mjs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { BlueprintCatalog } from '../shared/blueprint';
import { CATALOG_SQL } from '../shared/catalog';
import { quoteIdent } from '../shared/identifiers';
import { commandLine, redact, urlOf } from './cli';
import { applyFloorQuery, floorScript, floorSteps } from './floor';
import { row, writeSection } from './report';
import { median, percentile, round } from './stats';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const BLUEPRINT = 'school-erp';
/** The tenant the app's statements read. */
const APP_SCHEMA = 'tenant_app';
/** A join an application might prepare: a student, their enrolments and their school's classes. */
const JOIN_SQL = `SELECT s.id, s.school_id, e.course_id, c.name
  FROM ${APP_SCHEMA}.students s
  JOIN ${APP_SCHEMA}.enrollments e ON e.student_id = s.id
  JOIN ${APP_SCHEMA}.classes c ON c.school_id = s.school_id
 WHERE s.id = $1`;
/** Runs of each statement before every timed one, so that it starts warm. */
const WARM_RUNS = 3;

type Action = 'nothing' | 'create schema' | 'create table' | 'indexes' | 'tenant';
const ACTIONS: readonly Action[] = ['nothing', 'create schema', 'create table', 'indexes', 'tenant'];

interface CacheResetResult {
  readonly benchmark: 'cache-reset';
  readonly date: string;
  readonly command: string;
  readonly repeats: number;
  readonly node: string;
  readonly postgres: string;
  readonly server: string;
  readonly cpus: number;
  /** Per action: the app's next catalog read and next join, ms. */
  readonly next: Readonly<Record<Action, { readonly catalogRead: Spread; readonly join: Spread }>>;
}

/** Median and p90 to 0.01 ms (the join takes a tenth of a millisecond), and the samples. */
interface Spread {
  readonly median: number;
  readonly p90: number;
  readonly samples: readonly number[];
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: round(median(sorted), 2),
    p90: round(percentile(sorted, 90), 2),
    samples: values.map((ms) => round(ms, 2)),
  };
}

function render(r: CacheResetResult): string {
  return [
    `## Cache reset, ${r.date}`,
    '',
    `\`${r.command}\`: ${r.repeats} repeats of each action, in turn. Node ${r.node}, PostgreSQL ` +
      `${r.postgres}, ${r.cpus} CPUs. The app's connection runs each statement ${WARM_RUNS} times, the ` +
      `other connection does the action, then the app's next run is timed (client side, round trip included).`,
    '',
    row([
      "the other connection's action",
      "app's next catalog read ms (median, p90)",
      "app's next join ms (median, p90)",
    ]),
    row(['---', '---:', '---:']),
    ...ACTIONS.map((a) =>
      row([
        a,
        `${r.next[a].catalogRead.median} (${r.next[a].catalogRead.p90})`,
        `${r.next[a].join.median} (${r.next[a].join.p90})`,
      ]),
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({ args: argv, options: { repeats: { type: 'string' } }, strict: true });
  const repeats = Number(values.repeats ?? '15');
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 1000) {
    throw new Error(`--repeats must be a whole number from 1 to 1000, got '${values.repeats}'`);
  }
  const serverUrl = process.env.DATABASE_URL || DEFAULT_URL;
  const blueprint = new BlueprintCatalog().get(BLUEPRINT);
  const name = `tenantry_bench_cache_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl, application_name: 'tenantry-bench' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  const url = urlOf(serverUrl, name);
  const app = new pg.Client({ connectionString: url, application_name: 'tenantry-bench-app' });
  const other = new pg.Client({ connectionString: url, application_name: 'tenantry-bench-other' });
  try {
    await app.connect();
    await other.connect();
    await applyFloorQuery(other, floorScript(blueprint, APP_SCHEMA));
    await other.query('CREATE SCHEMA bench_tables');
    const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0];

    const timed = async (statement: 'catalogRead' | 'join') => {
      const t0 = performance.now();
      if (statement === 'catalogRead')
        await app.query({ name: 'catalog', text: CATALOG_SQL, values: [APP_SCHEMA] });
      else await app.query({ name: 'join', text: JOIN_SQL, values: [1] });
      return performance.now() - t0;
    };
    const warm = async () => {
      for (let i = 0; i < WARM_RUNS; i++) {
        await timed('catalogRead');
        await timed('join');
      }
    };
    let n = 0;
    const act = async (action: Action) => {
      n++;
      if (action === 'create schema') await other.query(`CREATE SCHEMA bench_empty_${n}`);
      else if (action === 'create table') await other.query(`CREATE TABLE bench_tables.t${n} (a int)`);
      else if (action === 'tenant') await applyFloorQuery(other, floorScript(blueprint, `bench_tenant_${n}`));
      else if (action === 'indexes') {
        // A tenant without its indexes, not timed; then its indexes as CreateIndexes commits them.
        const [schema, tables, indexes] = floorSteps(blueprint, `bench_indexes_${n}`);
        for (const script of [schema, tables]) await applyFloorQuery(other, script ?? '');
        await warm();
        await applyFloorQuery(other, indexes ?? '');
      }
    };
    const samples = new Map(ACTIONS.map((a) => [a, { catalogRead: [] as number[], join: [] as number[] }]));
    for (let r = -1; r < repeats; r++) {
      for (const [i, action] of ACTIONS.entries()) {
        const turned = ACTIONS[(i + Math.max(r, 0)) % ACTIONS.length] ?? action;
        for (const statement of ['catalogRead', 'join'] as const) {
          await warm();
          await act(turned);
          const ms = await timed(statement);
          if (r >= 0) samples.get(turned)?.[statement].push(ms);
        }
      }
    }
    const result: CacheResetResult = {
      benchmark: 'cache-reset',
      date: new Date().toISOString().slice(0, 10),
      command: commandLine('bench:cache-reset', 'bench/cache-reset.ts', argv),
      repeats,
      node: process.version,
      postgres: version?.server_version ?? 'unknown',
      server: redact(serverUrl),
      cpus: cpus().length,
      next: Object.fromEntries(
        ACTIONS.map((a) => {
          const s = samples.get(a);
          return [
            a,
            {
              catalogRead: spread(s?.catalogRead ?? []),
              join: spread(s?.join ?? []),
            },
          ];
        }),
      ) as CacheResetResult['next'],
    };
    const summary = render(result);
    await writeSection('cache-reset', result.date, result, summary);
    console.log(summary);
  } finally {
    await app.end().catch(() => {});
    await other.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch((error: Error) => {
      console.error(`bench: could not drop ${name}: ${error.message}`);
    });
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
