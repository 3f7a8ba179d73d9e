import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineProfile } from './profile';
import type { Summary } from './stats';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** The issue's goals: ratios of medians taken in the same run. */
export const GOALS = {
  /** median(engine) / median(floor) with no other tenant in the database. */
  ratioAtZero: 1.2,
  /** The ratio at the fleet size over the ratio at 0. */
  fleetGrowth: 1.1,
} as const;

/** One scratch database: `existingSchemas` tenants were there before the counted rounds. */
export interface PhaseResult {
  readonly existingSchemas: number;
  /** Tenant schemas in the database when the counted rounds began and when they ended. */
  readonly schemasAtStart: number;
  readonly schemasAtEnd: number;
  readonly engine: Summary;
  /** The floor: one multi-statement query on an open connection. */
  readonly floor: Summary;
  /** The floor's SQL in Provision's transactions, then Verify's catalog read. */
  readonly steps: Summary;
  readonly psql: Summary;
  /** median(engine) / median(floor). */
  readonly ratio: number;
  /** median(steps) / median(floor): what the workflow's shape costs before any bookkeeping. */
  readonly stepsRatio: number;
  /** The steps path's parts by the step each stands for: medians, ms. */
  readonly stepsParts: Readonly<Record<string, number>>;
  /** median(engine) / median(steps): what the engine's bookkeeping costs on top. */
  readonly ratioToSteps: number;
  readonly ratioToPsql: number;
  /** engine / floor of the same round: the spread of the ratio. */
  readonly pairedRatio: { readonly median: number; readonly p10: number; readonly p90: number };
  /** median(engine) - median(floor). */
  readonly overFloorMs: number;
  /** Verify's step (history, 1 ms resolution) and its catalog read (client side), medians. */
  readonly verify: { readonly stepMs: number; readonly catalogReadMs: number };
  readonly createIndexesStepMs: number;
  /** Counted engine runs in which some step took more than one attempt. */
  readonly retriedRuns: number;
  readonly engineProfile: EngineProfile;
  readonly samplesMs: {
    readonly engine: readonly number[];
    readonly floor: readonly number[];
    readonly steps: readonly number[];
    readonly psql: readonly number[];
  };
}

export interface Goal {
  readonly max: number;
  readonly value: number;
  readonly met: boolean;
}

export interface BenchResult {
  readonly benchmark: 'provision';
  readonly date: string;
  readonly command: string;
  /** Counted rounds: each gives one tenant per path in each database. */
  readonly tenants: number;
  readonly fleet: number;
  readonly fleetCloneMs: number;
  readonly warmupPerPath: number;
  readonly blueprint: { readonly name: string; readonly version: number };
  readonly node: string;
  readonly postgres: string;
  readonly server: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly platform: string };
  readonly phases: readonly PhaseResult[];
  readonly goals: { readonly ratioAtZero: Goal; readonly fleetGrowth?: Goal };
  /** Peak RSS of the bench process (psql is not included). */
  readonly peakRssMb: number;
  readonly psqlNoopMs: Summary;
  /** 1, 5 and 15 minute load averages: the machine is shared. */
  readonly loadAverage: { readonly atStart: readonly number[]; readonly atEnd: readonly number[] };
}

/** One row of a Markdown table. */
export const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
const met = (g: Goal) => (g.met ? 'met' : 'NOT met');

/** The human summary: printed to stdout and kept in bench/results/README.md. */
export function renderSummary(r: BenchResult): string {
  const stats = (name: string, s: Summary) => row([name, s.median, s.p90, s.mean, s.min, s.max]);
  const at = (p: PhaseResult) => `${p.existingSchemas} existing`;
  const lines = [
    `## Provision, ${r.date}`,
    '',
    `\`${r.command}\`: ${r.tenants} rounds; each round provisions one tenant of ${r.blueprint.name} ` +
      `v${r.blueprint.version} by each path in each database (paths and databases take turns), ` +
      `+1 warm-up per path and database, not counted. Node ${r.node}, PostgreSQL ${r.postgres}, ` +
      `${r.machine.cpus} CPUs (${r.machine.cpuModel}), load average ${r.loadAverage.atStart.join(' ')} ` +
      `at the start, ${r.loadAverage.atEnd.join(' ')} at the end.` +
      (r.fleet > 0
        ? ` The fleet of ${r.fleet} tenant schemas took ${round1(r.fleetCloneMs / 1000)} s to clone.`
        : ''),
    '',
    row(['database', 'path', 'median ms', 'p90 ms', 'mean ms', 'min ms', 'max ms']),
    row(['---', '---', '---:', '---:', '---:', '---:', '---:']),
    ...r.phases.flatMap((p) => [
      stats(`${at(p)} | engine (LocalEngine, Provision workflow)`, p.engine),
      stats(`${at(p)} | **floor** (one multi-statement query, open connection)`, p.floor),
      stats(
        `${at(p)} | steps (the floor's SQL in Provision's 4 transactions, then Verify's catalog read)`,
        p.steps,
      ),
      stats(`${at(p)} | psql (one \`psql --single-transaction\`)`, p.psql),
    ]),
    '',
    row([
      'database',
      'engine / floor',
      'same-round ratio: median (p10-p90)',
      'engine - floor ms',
      'Verify step ms',
      'of which catalog read ms',
      'CreateIndexes step ms',
      'steps / floor',
      'engine / steps',
      'engine / psql',
    ]),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    ...r.phases.map((p) =>
      row([
        `${at(p)} (${p.schemasAtStart}-${p.schemasAtEnd} tenant schemas)`,
        `**${p.ratio.toFixed(2)}x**`,
        `${p.pairedRatio.median.toFixed(2)}x (${p.pairedRatio.p10.toFixed(2)}-${p.pairedRatio.p90.toFixed(2)})`,
        p.overFloorMs,
        p.verify.stepMs,
        p.verify.catalogReadMs,
        p.createIndexesStepMs,
        `${p.stepsRatio.toFixed(2)}x`,
        `${p.ratioToSteps.toFixed(2)}x`,
        `${p.ratioToPsql.toFixed(2)}x`,
      ]),
    ),
    '',
    '**Goals**:',
    '',
    `- engine / floor at 0 existing tenants at most ${r.goals.ratioAtZero.max}x: ` +
      `${r.goals.ratioAtZero.value.toFixed(2)}x, ${met(r.goals.ratioAtZero)};`,
    ...(r.goals.fleetGrowth
      ? [
          `- the ratio at ${r.fleet} over the ratio at 0 at most ${r.goals.fleetGrowth.max}x: ` +
            `${r.goals.fleetGrowth.value.toFixed(2)}x, ${met(r.goals.fleetGrowth)}.`,
        ]
      : []),
    '',
    `Secondary: peak RSS of the bench process ${r.peakRssMb} MB (psql's own memory is not included). ` +
      `A no-op psql (process start, connect, \`SELECT 1\`) takes ${r.psqlNoopMs.median} ms (median of ${r.psqlNoopMs.n}). ` +
      `Engine runs with a retried step: ${r.phases.map((p) => `${p.retriedRuns} at ${p.existingSchemas}`).join(', ')}.`,
    '',
    '### Engine path, median per tenant',
    '',
    row([
      'phase',
      ...r.phases.map((p) => `ms at ${p.existingSchemas}`),
      'statement ms (calls)',
      'steps path ms',
    ]),
    row(['---', ...r.phases.map(() => '---:'), '---:', '---:']),
    ...(r.phases[0]?.engineProfile.phases ?? []).map((row0) => {
      const cells = r.phases.map(
        (p) => p.engineProfile.phases.find((x) => x.phase === row0.phase)?.medianMs ?? '',
      );
      const db = r.phases
        .map((p) => p.engineProfile.phases.find((x) => x.phase === row0.phase))
        .map((x) => (x?.dbMs === undefined ? '' : `${x.dbMs} (${x.dbCalls ?? 0})`))
        .filter((x) => x !== '')
        .join(' / ');
      const step = row0.phase.startsWith('step ') ? row0.phase.slice('step '.length) : undefined;
      const floorPart = r.phases
        .map((p) => (step === undefined ? undefined : p.stepsParts[step]))
        .filter((x) => x !== undefined)
        .join(' / ');
      return row([row0.phase, ...cells, db, floorPart]);
    }),
    '',
    row(['statement', 'calls', ...r.phases.map((p) => `ms at ${p.existingSchemas}`)]),
    row(['---', '---:', ...r.phases.map(() => '---:')]),
    ...(r.phases[0]?.engineProfile.queries ?? []).map((q) =>
      row([
        q.statement,
        q.medianCalls,
        ...r.phases.map(
          (p) => p.engineProfile.queries.find((x) => x.statement === q.statement)?.medianMs ?? '',
        ),
      ]),
    ),
    '',
    'Phases come from the execution history (state entered/exited timestamps, 1 ms resolution); ' +
      'statement times are client-side (round trip included). History writes run beside the steps, not in series. ' +
      "The last column is the steps path's transaction (or catalog read) for the same step, for comparison.",
  ];
  return lines.join('\n');
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Writes `provision-<date>.json` and puts the summary in README.md, replacing that date's section. */
export async function writeResults(r: BenchResult, summary: string): Promise<void> {
  await writeSection('provision', r.date, r, summary);
}

/**
 * Writes `<name>-<date>.json` and puts the summary in README.md between `<!-- name-date -->` markers,
 * replacing the section of the same benchmark and date.
 */
export async function writeSection(
  name: string,
  date: string,
  json: unknown,
  summary: string,
): Promise<void> {
  // A second run of the same benchmark on the same day keeps the first's results: BENCH_RUN=b
  // writes `<name>-<date>-b.json` and a section of its own.
  const run = process.env.BENCH_RUN;
  if (run !== undefined && !/^[a-z0-9]{1,8}$/.test(run))
    throw new Error(`BENCH_RUN must be 1 to 8 lowercase letters or digits, not ${JSON.stringify(run)}`);
  const key = run ? `${name}-${date}-${run}` : `${name}-${date}`;
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${key}.json`), `${JSON.stringify(json, null, 2)}\n`);

  const readme = join(RESULTS_DIR, 'README.md');
  const begin = `<!-- ${key} -->`;
  const end = `<!-- /${key} -->`;
  const section = `${begin}\n${summary}\n${end}`;
  const header =
    '# Benchmark results\n\nWritten by `npm run bench` and `npm run bench:backup` (see [../README.md](../README.md)); ' +
    'one section per benchmark and date, newest last. The raw numbers are in `<benchmark>-<date>.json`.\n';
  let text = existsSync(readme) ? await readFile(readme, 'utf8') : header;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from >= 0 && to > from) text = text.slice(0, from) + section + text.slice(to + end.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(readme, text.endsWith('\n') ? text : `${text}\n`);
}
