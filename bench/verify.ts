/**
 * `npm run bench:verify`: Verify's catalog read (shared/catalog.ts `readCatalog`, one statement)
 * on a Postgres server with 0, 1,000 and 5,000 other tenant schemas beside the tenant it reads.
 * Each filler schema is a clone of a real tenant (docex's migrations and indexes: ~20 tables with
 * their indexes, sequences, types, a function and triggers), made in batches of one transaction.
 * At each level the read is timed `--repeats` times as the catalogs' statistics were left (stale:
 * last analyzed by autovacuum, or at level 0 by us), and again after ANALYZE of the catalogs; the
 * plan is checked (EXPLAIN) for a Seq Scan on any system catalog. Goal: the median at 5,000 within
 * 1.2x of the median at 0. Runs in a scratch database `tenantry_bench_verify_<pid>`, dropped at the end.
 */
import '../local/bin/node-version.mjs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { BlueprintCatalog } from '../shared/blueprint';
import { CATALOG_SQL, readCatalog } from '../shared/catalog';
import { quoteIdent } from '../shared/identifiers';
import { dropLeftoverTenantRolesSql } from '../shared/registry/leftover-roles';
import { PostgresClient } from '../shared/sql/postgres';
import { row, writeSection } from './report';
import { round, type Summary, summarise } from './stats';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const GOAL = 1.2;
const BATCH = 25;
const CATALOGS = [
  'pg_class',
  'pg_attribute',
  'pg_attrdef',
  'pg_constraint',
  'pg_depend',
  'pg_index',
  'pg_inherits',
  'pg_policy',
  'pg_proc',
  'pg_rewrite',
  'pg_sequence',
  'pg_trigger',
  'pg_type',
  'pg_enum',
];

interface LevelResult {
  readonly schemas: number;
  readonly stale: Summary;
  readonly analyzed: Summary;
  /** System catalogs read by a Seq Scan in the plan (stale statistics, then after ANALYZE). */
  readonly seqScans: { readonly stale: string[]; readonly analyzed: string[] };
  readonly lastAutoanalyzePgClass: string | null;
  readonly catalogRows: {
    readonly pg_class: number;
    readonly pg_depend: number;
    readonly pg_attribute: number;
  };
}

function seqScansOf(plan: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(plan)) for (const p of plan) seqScansOf(p, found);
  else if (plan && typeof plan === 'object') {
    const node = plan as Record<string, unknown>;
    if (node['Node Type'] === 'Seq Scan' && typeof node['Relation Name'] === 'string')
      found.add(node['Relation Name']);
    for (const v of Object.values(node)) if (v && typeof v === 'object') seqScansOf(v, found);
  }
  return found;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repeats: { type: 'string', default: '25' },
      levels: { type: 'string', default: '0,1000,5000' },
    },
  });
  const repeats = Number(values.repeats);
  const levels = values.levels.split(',').map(Number);
  if (!Number.isInteger(repeats) || repeats < 3) throw new Error('--repeats must be a whole number >= 3');
  if (levels.some((n, i) => !Number.isInteger(n) || n < 0 || (i > 0 && n <= (levels[i - 1] ?? 0))))
    throw new Error('--levels must be increasing whole numbers, e.g. 0,1000,5000');
  const command = `npm run bench:verify${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

  const base = process.env.DATABASE_URL || DEFAULT_URL;
  const name = `tenantry_bench_verify_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = new PostgresClient({ connectionString: url.toString(), maxConnections: 3 });
  const blueprints = new BlueprintCatalog();
  const measured = blueprints.get('school-erp');
  const filler = blueprints.get('docex');
  const ddl = (bp: typeof measured, schema: string) => [
    `CREATE SCHEMA ${quoteIdent(schema)}`,
    `SET LOCAL search_path = ${quoteIdent(schema)}`,
    ...bp.migrations.map((m) => m.sql),
    ...bp.indexes.map((i) => i.sql),
  ];
  const results: LevelResult[] = [];
  try {
    const { rows: version } = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    await db.transaction((tx) => tx.script(ddl(measured, 'tenant_measured')));
    const objects = (await readCatalog(db, 'tenant_measured')).objects.length;
    await db.query(`ANALYZE ${CATALOGS.join(', ')}`);
    let made = 0;
    const write = async () => {
      const first = results[0];
      const last = results.at(-1);
      if (!first || !last) throw new Error('no levels measured');
      // Per statistics state, the median at the largest level over the median at the first.
      const ratio = round(
        Math.max(last.stale.median / first.stale.median, last.analyzed.median / first.analyzed.median),
        2,
      );
      const date = new Date().toISOString().slice(0, 10);
      const json = {
        benchmark: 'verify',
        date,
        command,
        repeats,
        measured: { blueprint: measured.name, version: measured.version, objects },
        filler: { blueprint: filler.name, version: filler.version, batch: BATCH },
        postgres: version[0]?.v ?? '',
        node: process.version,
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '' },
        levels: results,
        ratio,
        goal: { maxRatio: GOAL, met: ratio <= GOAL },
      };
      const summary = [
        `## Verify's catalog read, ${date}`,
        '',
        `\`${command}\`: \`readCatalog\` of one ${measured.name} tenant (${objects} catalog lines), ${repeats} reads per ` +
          `level and statistics state, beside N filler tenant schemas (clones of ${filler.name}). PostgreSQL ${json.postgres}, ` +
          `Node ${process.version}, ${json.machine.cpus} CPUs (${json.machine.cpuModel}).`,
        '',
        row([
          'schemas',
          'pg_class rows',
          'stale stats: median ms',
          'p90 ms',
          'after ANALYZE: median ms',
          'p90 ms',
          'Seq Scans on catalogs',
        ]),
        row(['---:', '---:', '---:', '---:', '---:', '---:', '---']),
        ...results.map((r) =>
          row([
            r.schemas,
            r.catalogRows.pg_class,
            r.stale.median,
            r.stale.p90,
            r.analyzed.median,
            r.analyzed.p90,
            [...new Set([...r.seqScans.stale, ...r.seqScans.analyzed])].join(', ') || 'none',
          ]),
        ),
        '',
        `**Median at ${last.schemas} / median at ${first.schemas} (the worse of the two statistics states): ${ratio.toFixed(2)}x.** Goal: flat within ${GOAL}x, ${json.goal.met ? 'met' : 'NOT met'}.`,
        '',
        '"Stale stats": the catalogs as the filler left them (analyzed by us at level 0, since then only by autovacuum, ' +
          `last at ${last.lastAutoanalyzePgClass ?? 'never'} for pg_class); "after ANALYZE": the same read after \`ANALYZE\` of the catalogs.`,
      ].join('\n');
      if (results.length === levels.length) console.log(summary);
      await writeSection('verify', date, json, summary);
    };
    for (const level of levels) {
      const started = performance.now();
      // Two connections make filler batches side by side (one per core).
      const fill = async () => {
        while (made < level) {
          const from = made;
          const upTo = Math.min(level, from + BATCH);
          made = upTo;
          const script: string[] = [];
          for (let i = from; i < upTo; i++)
            script.push(...ddl(filler, `tenant_filler_${String(i).padStart(5, '0')}`));
          await db.transaction((tx) => tx.script(script));
          if (upTo % 500 === 0) process.stderr.write(`  ${upTo} filler schemas\n`);
        }
      };
      await Promise.all([fill(), fill()]);
      process.stderr.write(
        `level ${level}: filler made in ${round((performance.now() - started) / 1000)} s\n`,
      );
      const time = async () => {
        await readCatalog(db, 'tenant_measured'); // warm the cache and the connection
        const samples: number[] = [];
        for (let i = 0; i < repeats; i++) {
          const t0 = performance.now();
          const { objects: lines } = await readCatalog(db, 'tenant_measured');
          samples.push(performance.now() - t0);
          if (lines.length !== objects)
            throw new Error(`catalog read gave ${lines.length} lines, not ${objects}`);
        }
        return summarise(samples);
      };
      const plan = async () => {
        const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${CATALOG_SQL}`, [
          'tenant_measured',
        ]);
        return [...seqScansOf(rows[0]?.['QUERY PLAN'])].filter((r) => r.startsWith('pg_')).sort();
      };
      const { rows: auto } = await db.query<{ at: Date | null }>(
        "SELECT last_autoanalyze AS at FROM pg_stat_sys_tables WHERE relname = 'pg_class'",
      );
      const staleScans = await plan();
      const stale = await time();
      await db.query(`ANALYZE ${CATALOGS.join(', ')}`);
      const analyzedScans = await plan();
      const analyzed = await time();
      const { rows: counts } = await db.query<{ c: number; d: number; a: number }>(
        `SELECT (SELECT count(*) FROM pg_class)::int AS c, (SELECT count(*) FROM pg_depend)::int AS d,
                (SELECT count(*) FROM pg_attribute)::int AS a`,
      );
      const result: LevelResult = {
        schemas: level,
        stale,
        analyzed,
        seqScans: { stale: staleScans, analyzed: analyzedScans },
        lastAutoanalyzePgClass: auto[0]?.at ? new Date(auto[0].at).toISOString() : null,
        catalogRows: {
          pg_class: counts[0]?.c ?? 0,
          pg_depend: counts[0]?.d ?? 0,
          pg_attribute: counts[0]?.a ?? 0,
        },
      };
      results.push(result);
      // Written after every level: an interrupted run keeps the levels it finished.
      await write();
      process.stderr.write(
        `level ${level}: stale median ${stale.median} ms, analyzed median ${analyzed.median} ms, seq scans ${JSON.stringify(result.seqScans)}\n`,
      );
    }
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(dropLeftoverTenantRolesSql(name));
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
