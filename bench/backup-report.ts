import { row, writeSection } from './report';
import type { Summary } from './stats';

/** One tenant size: its rows, the timings of every path, and the samples behind them. */
export interface BackupSizeResult {
  /** Rows asked for (--sizes). */
  readonly n: number;
  /** Rows the tenant held: the N filled plus the blueprint's seed and the fixed rows marks need. */
  readonly rows: number;
  readonly tables: Readonly<Record<string, number>>;
  readonly fillMs: number;
  readonly bytes: {
    readonly tenantryParts: number;
    readonly pgDumpCustom: number;
    readonly pgDumpPlain: number;
  };
  /** Both restores were compared, table by table, with the tenant before (row count and md5). */
  readonly verified: boolean;
  readonly backup: {
    /** exportSchema into a fresh prefix of a LocalFolderStore, plus the manifest write. */
    readonly tenantry: Summary;
    readonly pgDumpCustom: Summary;
    readonly pgDumpPlain: Summary;
    /** The Backup step of the (untimed) Deprovision before each restore, from its history. */
    readonly deprovisionBackupStep: Summary;
  };
  readonly restore: {
    /** LocalEngine Provision with `restore: true`, start() to run.done. */
    readonly tenantry: Summary;
    readonly pgRestore: Summary;
    /** Each step of those restores, from the execution history (1 ms resolution). */
    readonly steps: Readonly<Record<string, Summary>>;
  };
  readonly samplesMs: Readonly<Record<string, unknown>>;
}

export interface BackupBenchResult {
  readonly benchmark: 'backup';
  readonly date: string;
  readonly command: string;
  readonly repeats: number;
  readonly blueprint: string;
  readonly node: string;
  readonly postgres: string;
  readonly pgDump: string;
  readonly server: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly platform: string };
  readonly goals: { readonly backupRatio: number; readonly restoreRatio: number; readonly flatness: number };
  readonly peakRssMb: number;
  readonly sizes: readonly BackupSizeResult[];
}

const x = (v: number) => `${v.toFixed(2)}x`;
/** Microseconds per row of a median in ms. */
const perRow = (ms: number, rows: number) => (ms * 1000) / rows;
const us = (v: number) => v.toFixed(2);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const verdict = (ok: boolean) => (ok ? 'met' : '**NOT met**');

interface PathDef {
  readonly name: string;
  readonly pick: (s: BackupSizeResult) => Summary | undefined;
}

const PATHS: readonly PathDef[] = [
  { name: 'backup: Tenantry `exportSchema` + manifest', pick: (s) => s.backup.tenantry },
  { name: 'backup: `pg_dump -Fc -n` (baseline)', pick: (s) => s.backup.pgDumpCustom },
  { name: 'backup: `pg_dump -Fp -n`', pick: (s) => s.backup.pgDumpPlain },
  { name: 'backup: Deprovision Backup step (history)', pick: (s) => s.backup.deprovisionBackupStep },
  { name: 'restore: Tenantry Provision `restore: true`', pick: (s) => s.restore.tenantry },
  { name: 'restore: of which RestoreRows step', pick: (s) => s.restore.steps.RestoreRows },
  { name: 'restore: `pg_restore -d` (baseline)', pick: (s) => s.restore.pgRestore },
];

/** Per-row time at the largest size over that at the smallest: 1.0 is perfectly flat. */
export function flatness(sizes: readonly BackupSizeResult[], pick: PathDef['pick'], from = 0): number {
  const first = sizes[from];
  const last = sizes.at(-1);
  const a = first && pick(first);
  const b = last && pick(last);
  if (!first || !last || !a || !b) return Number.NaN;
  return perRow(b.median, last.rows) / perRow(a.median, first.rows);
}

/** The human summary: printed to stdout and kept in bench/results/README.md. */
export function renderBackupSummary(r: BackupBenchResult): string {
  const g = r.goals;
  const lines = [
    `## Backup and restore, ${r.date}`,
    '',
    `\`${r.command}\`: one ${r.blueprint} tenant per size, each path ${r.repeats} times, interleaved with its ` +
      `baseline. Node ${r.node}, PostgreSQL ${r.postgres}, ${r.pgDump}, ${r.machine.cpus} CPUs (${r.machine.cpuModel}). ` +
      'Every restore (Tenantry and pg_restore) was compared with the tenant before it, table by table (row count and md5), once per size.',
    '',
    row(['size', 'rows', 'path', 'median ms', 'p90 ms', 'min ms', 'max ms', 'µs/row (median)']),
    row(['---:', '---:', '---', '---:', '---:', '---:', '---:', '---:']),
  ];
  for (const s of r.sizes) {
    for (const p of PATHS) {
      const v = p.pick(s);
      if (!v) continue;
      lines.push(row([s.n, s.rows, p.name, v.median, v.p90, v.min, v.max, us(perRow(v.median, s.rows))]));
    }
  }
  lines.push(
    '',
    row([
      'size',
      'backup / pg_dump -Fc',
      'backup / pg_dump -Fp',
      'restore / pg_restore',
      'RestoreRows / pg_restore',
      'parts MB',
      'dump -Fc MB',
      'dump -Fp MB',
    ]),
  );
  lines.push(row(['---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']));
  const ratios = r.sizes.map((s) => ({
    s,
    backup: s.backup.tenantry.median / s.backup.pgDumpCustom.median,
    backupPlain: s.backup.tenantry.median / s.backup.pgDumpPlain.median,
    restore: s.restore.tenantry.median / s.restore.pgRestore.median,
    rows: (s.restore.steps.RestoreRows?.median ?? Number.NaN) / s.restore.pgRestore.median,
  }));
  for (const q of ratios) {
    lines.push(
      row([
        q.s.n,
        x(q.backup),
        x(q.backupPlain),
        x(q.restore),
        x(q.rows),
        mb(q.s.bytes.tenantryParts),
        mb(q.s.bytes.pgDumpCustom),
        mb(q.s.bytes.pgDumpPlain),
      ]),
    );
  }
  const first = r.sizes[0];
  const last = r.sizes.at(-1);
  const span = first && last ? `${last.n} / ${first.n}` : '';
  const prev = r.sizes.length >= 3 ? r.sizes.at(-2) : undefined;
  lines.push(
    '',
    row([
      'path',
      `flatness: µs/row at ${span}`,
      ...(prev && last ? [`µs/row at ${last.n} / ${prev.n}`] : []),
    ]),
    row(['---', '---:', ...(prev ? ['---:'] : [])]),
  );
  for (const p of PATHS)
    lines.push(
      row([
        p.name,
        x(flatness(r.sizes, p.pick)),
        ...(prev ? [x(flatness(r.sizes, p.pick, r.sizes.length - 2))] : []),
      ]),
    );

  if (prev && last) {
    const marginal = (pick: PathDef['pick']) => {
      const a = pick(prev);
      const b = pick(last);
      return a && b ? perRow(b.median - a.median, last.rows - prev.rows) : Number.NaN;
    };
    lines.push(
      '',
      `Marginal cost per row from ${prev.n} to ${last.n} rows ((median at ${last.n} - median at ${prev.n}) / extra rows): ` +
        'what each further row costs once the fixed costs are paid, i.e. where the ratios head for larger tenants.',
      '',
      row(['path', 'µs/row']),
      row(['---', '---:']),
      ...PATHS.map((p) => row([p.name, us(marginal(p.pick))])),
      '',
      `Marginal ratios: backup / pg_dump -Fc ${x(marginal((s) => s.backup.tenantry) / marginal((s) => s.backup.pgDumpCustom))}, ` +
        `backup / pg_dump -Fp ${x(marginal((s) => s.backup.tenantry) / marginal((s) => s.backup.pgDumpPlain))}, ` +
        `restore / pg_restore ${x(marginal((s) => s.restore.tenantry) / marginal((s) => s.restore.pgRestore))}.`,
    );
  }
  const worstBackup = Math.max(...ratios.map((q) => q.backup));
  const worstRestore = Math.max(...ratios.map((q) => q.restore));
  const flatBackup = flatness(r.sizes, (s) => s.backup.tenantry);
  const flatRestore = flatness(r.sizes, (s) => s.restore.tenantry);
  const flatRows = flatness(r.sizes, (s) => s.restore.steps.RestoreRows);
  lines.push(
    '',
    '**Goals** (issue 9):',
    '',
    `- backup within ${g.backupRatio}x of \`pg_dump -Fc\` at every size: worst ${x(worstBackup)}, ${verdict(worstBackup <= g.backupRatio)};`,
    `- restore within ${g.restoreRatio}x of \`pg_restore\` at every size: worst ${x(worstRestore)}, ${verdict(worstRestore <= g.restoreRatio)};`,
    `- time per row flat within ${g.flatness}x from the smallest to the largest size: backup ${x(flatBackup)} ` +
      `${verdict(flatBackup <= g.flatness)}; whole restore ${x(flatRestore)} ${verdict(flatRestore <= g.flatness)}; ` +
      `RestoreRows step alone ${x(flatRows)} ${verdict(flatRows <= g.flatness)}.`,
    '',
    `Peak RSS of the bench process: ${r.peakRssMb} MB (pg_dump and pg_restore run as their own processes, not counted).`,
    '',
    '### Tenantry restore, median per step (ms, from the execution history)',
    '',
  );
  const stepNames = Object.keys(first?.restore.steps ?? {});
  lines.push(row(['size', ...stepNames]), row(['---:', ...stepNames.map(() => '---:')]));
  for (const s of r.sizes) lines.push(row([s.n, ...stepNames.map((n) => s.restore.steps[n]?.median ?? '')]));
  return lines.join('\n');
}

export function writeBackupResults(r: BackupBenchResult, summary: string): Promise<void> {
  return writeSection('backup', r.date, r, summary);
}
