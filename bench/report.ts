import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineProfile } from './profile';
import type { Summary } from './stats';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export interface BenchResult {
  readonly benchmark: 'provision';
  readonly date: string;
  readonly command: string;
  readonly tenants: number;
  readonly warmupPerPath: number;
  readonly blueprint: { readonly name: string; readonly version: number };
  readonly node: string;
  readonly postgres: string;
  readonly server: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly platform: string };
  readonly engine: Summary;
  readonly floor: Summary;
  /** median(engine) / median(floor). */
  readonly ratio: number;
  readonly goal: { readonly maxRatio: number; readonly met: boolean };
  readonly peakRssMb: { readonly engine: number; readonly floor: number; readonly overall: number };
  readonly psqlNoopMs: Summary;
  /** Counted engine runs in which some step took more than one attempt. */
  readonly enginePathRetries: number;
  readonly engineProfile: EngineProfile;
  /** `new StateMachine(asl)` as local/engine.ts calls it on every run, with and without asl-validator. */
  readonly stateMachineConstructMs: { readonly validated: Summary; readonly unvalidated: Summary };
  readonly samplesMs: { readonly engine: readonly number[]; readonly floor: readonly number[] };
}

const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;

/** The human summary: printed to stdout and kept in bench/results/README.md. */
export function renderSummary(r: BenchResult): string {
  const stats = (name: string, s: Summary) => row([name, s.median, s.p90, s.mean, s.min, s.max]);
  const lines = [
    `## Provision, ${r.date}`,
    '',
    `\`${r.command}\`: ${r.tenants} tenants of ${r.blueprint.name} v${r.blueprint.version} per path ` +
      `(+${r.warmupPerPath} warm-up each, not counted), interleaved. Node ${r.node}, PostgreSQL ${r.postgres}, ` +
      `${r.machine.cpus} CPUs (${r.machine.cpuModel}).`,
    '',
    row(['path', 'median ms', 'p90 ms', 'mean ms', 'min ms', 'max ms']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
    stats('engine (LocalEngine, Provision workflow)', r.engine),
    stats('floor (one `psql --single-transaction`)', r.floor),
    '',
    `**Ratio median(engine) / median(floor): ${r.ratio.toFixed(2)}x.** ` +
      `Goal: at most ${r.goal.maxRatio}x, ${r.goal.met ? 'met' : 'NOT met'}.`,
    '',
    `Secondary: peak RSS of the bench process ${r.peakRssMb.engine} MB during engine runs, ` +
      `${r.peakRssMb.floor} MB during floor runs (psql's own memory is not included). ` +
      `A no-op psql (process start, connect, \`SELECT 1\`) takes ${r.psqlNoopMs.median} ms (median of ${r.psqlNoopMs.n}). ` +
      `Engine runs with a retried step: ${r.enginePathRetries}.`,
    '',
    '### Engine path, median per tenant',
    '',
    row(['phase', 'ms', 'statement ms (calls)']),
    row(['---', '---:', '---:']),
    ...r.engineProfile.phases.map((p) =>
      row([p.phase, p.medianMs, p.dbMs === undefined ? '' : `${p.dbMs} (${p.dbCalls ?? 0})`]),
    ),
    '',
    row(['statement', 'calls', 'ms']),
    row(['---', '---:', '---:']),
    ...r.engineProfile.queries.map((q) => row([q.statement, q.medianCalls, q.medianMs])),
    '',
    `\`new StateMachine(asl)\` with the engine's options (asl-validator on): ${r.stateMachineConstructMs.validated.median} ms ` +
      `median of ${r.stateMachineConstructMs.validated.n}; with \`noValidate\`: ${r.stateMachineConstructMs.unvalidated.median} ms.`,
    '',
    'Phases come from the execution history (state entered/exited timestamps, 1 ms resolution); ' +
      'statement times are client-side (round trip included). History writes run beside the steps, not in series.',
  ];
  return lines.join('\n');
}

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
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${name}-${date}.json`), `${JSON.stringify(json, null, 2)}\n`);

  const readme = join(RESULTS_DIR, 'README.md');
  const begin = `<!-- ${name}-${date} -->`;
  const end = `<!-- /${name}-${date} -->`;
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
