import type { StepProgress } from '../shared/progress';

/**
 * How the CLI shows a run's steps and a rollout's waves: one line per step as it changes (plain
 * lines, for a log or a pipe), or, on a terminal, one frame redrawn in place with a spinner on
 * what is running and the time each step and the whole run has taken (LiveView).
 */

/** A step as the API shows it (shared/api/schemas.ts `StepSchema`): no output. */
export type StepView = Omit<StepProgress, 'output'>;

export const SYMBOL: Readonly<Record<StepProgress['status'], string>> = {
  pending: '·',
  running: '▶',
  retrying: '↻',
  succeeded: '✓',
  failed: '✗',
  skipped: '-',
  cancelled: '⊘',
};

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;

/** 840 ms, 12.3 s, 2 m 05 s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
}

function attemptsNote(step: StepView): string {
  const invocations = step.invocations ?? 1;
  if (invocations > 1)
    return ` (${invocations} invocations${step.attempts > invocations ? `, ${step.attempts} attempts` : ''})`;
  return step.attempts > 1 ? ` (${step.attempts} attempts)` : '';
}

/** One line of a step, as it stands: `  ✓ Validate         12 ms`, `  ↻ Seed  retrying (2 attempts) ...`. */
export function describeStep(step: StepView): string {
  const duration = step.durationMs !== undefined ? `${step.durationMs} ms` : '';
  const error = step.error && step.status !== 'succeeded' ? `  ${step.error.error}: ${step.error.cause}` : '';
  const warnings = step.warnings.map((w) => `\n      warning: ${w}`).join('');
  const label = ['retrying', 'running', 'skipped'].includes(step.status) ? step.status : '';
  return `  ${SYMBOL[step.status]} ${step.name.padEnd(14)} ${label || duration.padStart(8)}${attemptsNote(step)}${error}${warnings}`;
}

/** The steps worth a line once a run has ended: all but a Cleanup that never ran. */
export function shownSteps(steps: readonly StepView[]): StepView[] {
  return steps.filter((s) => s.status !== 'skipped' || s.name !== 'Cleanup');
}

/**
 * The plain-line view of a run being followed: each step once whenever its status or attempt
 * changes (pending and skipped steps not at all).
 */
export class StepLines {
  private readonly shown = new Map<string, string>();

  next(steps: readonly StepView[]): string[] {
    const lines: string[] = [];
    for (const step of steps) {
      if (step.status === 'pending' || step.status === 'skipped') continue;
      const key = `${step.status}:${Math.max(step.attempts, 1)}`;
      if (this.shown.get(step.name) === key) continue;
      this.shown.set(step.name, key);
      lines.push(describeStep(step));
    }
    return lines;
  }
}

/** What a frame is drawn at: the time, and which spinner frame. */
export interface FrameClock {
  readonly now: number;
  readonly tick: number;
}

/** A run's frame: one line per step, then the run's status and how long it has taken. */
export function stepsFrame(
  run: {
    readonly status: string;
    readonly startedAt?: string;
    readonly stoppedAt?: string | null;
    readonly steps: readonly StepView[];
  },
  clock: FrameClock,
): string[] {
  const spinner = SPINNER[clock.tick % SPINNER.length] ?? '';
  const ended = run.status !== 'RUNNING';
  const lines = (ended ? shownSteps(run.steps) : run.steps).map((step) => {
    const name = step.name.padEnd(14);
    if (step.status === 'running' || step.status === 'retrying') {
      const since = step.startedAt ? formatDuration(clock.now - Date.parse(step.startedAt)) : '';
      const symbol = step.status === 'running' ? spinner : SYMBOL.retrying;
      const what = step.status === 'retrying' ? `retrying after ${step.error?.error ?? 'an error'}` : '';
      return `  ${symbol} ${name} ${since.padStart(8)}${attemptsNote(step)}${what ? `  ${what}` : ''}`;
    }
    if (step.status === 'pending') return `  ${SYMBOL.pending} ${step.name}`;
    return describeStep(step);
  });
  const start = run.startedAt ? Date.parse(run.startedAt) : undefined;
  const end = run.stoppedAt ? Date.parse(run.stoppedAt) : clock.now;
  const took = start === undefined ? '' : formatDuration(end - start);
  lines.push(ended ? `  ${run.status.toLowerCase()} in ${took}` : `  ${spinner} ${took} so far`);
  return lines;
}

/** A rollout as the frame reads it (shared/api/schemas.ts `RolloutSchema`). */
export interface RolloutView {
  readonly status: string;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly waves: readonly { readonly wave: number; readonly counts: Readonly<Record<string, number>> }[];
}

const counted = (counts: Readonly<Record<string, number>>) =>
  Object.entries(counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');

/** A rollout's frame: one line per wave (a spinner on the waves in flight), then its status and time. */
export function wavesFrame(rollout: RolloutView, clock: FrameClock): string[] {
  const spinner = SPINNER[clock.tick % SPINNER.length] ?? '';
  const lines = rollout.waves.map((w) => {
    if (w.wave < 0) return `  ${SYMBOL.skipped} skipped at selection: ${counted(w.counts)}`;
    const busy = (w.counts.running ?? 0) > 0;
    const waiting = (w.counts.pending ?? 0) > 0;
    const symbol = busy
      ? spinner
      : waiting
        ? SYMBOL.pending
        : (w.counts.failed ?? 0) > 0
          ? SYMBOL.failed
          : SYMBOL.succeeded;
    return `  ${symbol} wave ${w.wave}${w.wave === 0 ? ' (canary)' : ''}: ${counted(w.counts)}`;
  });
  const end = rollout.finishedAt ? Date.parse(rollout.finishedAt) : clock.now;
  const took = formatDuration(end - Date.parse(rollout.createdAt));
  lines.push(rollout.status === 'running' ? `  ${spinner} ${took} so far` : `  ${rollout.status} in ${took}`);
  return lines;
}

/**
 * A frame redrawn in place on a terminal: the cursor goes back up over the last frame, each line
 * is cleared and written again, and whatever is left below is cleared. Lines are cut to the
 * terminal's width, so that none wraps and the count of lines to go back over stays right.
 */
export class LiveView {
  private drawn = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly columns: number = 80,
  ) {}

  /** The text that replaces the last frame with this one. */
  frameText(frame: readonly string[]): string {
    const width = Math.max(20, this.columns - 1);
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    const lines = frame.flatMap((line) => line.split('\n'));
    const body = lines.map((line) => `\x1b[2K${[...line].slice(0, width).join('')}\n`).join('');
    this.drawn = lines.length;
    return `${up}${body}\x1b[J`;
  }

  draw(frame: readonly string[]): void {
    this.write(this.frameText(frame));
  }
}
