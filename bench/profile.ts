import type { HistoryEvent, StepProgress } from '../shared/progress';
import { median, round } from './stats';
import type { QueryTime } from './timed-client';

/** One engine run as the bench saw it: its wall time, its history, and its statements' times. */
export interface EngineSample {
  readonly tenantId: string;
  readonly wallMs: number;
  /** Date.now() just before start() and just after done resolved: the history's clock. */
  readonly startedAt: number;
  readonly doneAt: number;
  readonly steps: readonly StepProgress[];
  readonly history: readonly HistoryEvent[];
  readonly queries: ReadonlyMap<string, QueryTime>;
}

export interface ProfileRow {
  readonly phase: string;
  /** Median over the counted tenants of this phase's wall time. */
  readonly medianMs: number;
  /** Median time of the database statements behind it (client side, round trip included). */
  readonly dbMs?: number;
  readonly dbCalls?: number;
}

export interface QueryRow {
  readonly statement: string;
  readonly medianCalls: number;
  readonly medianMs: number;
}

export interface EngineProfile {
  readonly phases: readonly ProfileRow[];
  readonly queries: readonly QueryRow[];
}

/** The statement each step's work is (Tenantry's steps are one statement each). */
const STEP_STATEMENT: Readonly<Record<string, string>> = {
  Validate: 'tenantry.claim_tenant()',
  CreateSchema: 'tenantry.create_tenant_schema()',
  SyncTables: 'tenantry.sync_migrations()',
  CreateIndexes: 'tenantry.create_indexes()',
  Seed: 'tenantry.seed_tables()',
  Verify: 'catalog read (Verify)',
  Register: 'tenantry.register_tenant()',
};

const entered = (e: HistoryEvent) => e.type.endsWith('StateEntered');
const exited = (e: HistoryEvent) => e.type.endsWith('StateExited');

/**
 * Where an engine run's wall time goes: before the first state is entered (start(): control schema
 * check, the executions row, building and validating the state machine), each step (its statement and the rest:
 * the handler, middleware, parsing, history), the gaps between steps (the engine's transitions),
 * and after the last state (history flush, the final executions update).
 */
export function engineProfile(samples: readonly EngineSample[]): EngineProfile {
  const phases = new Map<string, { ms: number[]; db: number[]; calls: number[] }>();
  const add = (phase: string, ms: number, db?: QueryTime) => {
    const p = phases.get(phase) ?? { ms: [], db: [], calls: [] };
    p.ms.push(ms);
    if (db) {
      p.db.push(db.ms);
      p.calls.push(db.calls);
    }
    phases.set(phase, p);
  };

  for (const s of samples) {
    const states = s.history.filter((e) => entered(e) || exited(e));
    const first = states.find(entered);
    const last = states.findLast(exited);
    const started = s.history.find((e) => e.type === 'ExecutionStarted');
    const startedMs = started ? Date.parse(started.timestamp) : Number.NaN;
    add('start() to ExecutionStarted (executions row, state machine setup)', startedMs - s.startedAt);
    add('ExecutionStarted to first state', first ? Date.parse(first.timestamp) - startedMs : Number.NaN);
    for (const step of s.steps) {
      if (step.durationMs === undefined) continue; // not reached (Cleanup on a successful run)
      const statement = STEP_STATEMENT[step.name];
      const db = statement ? s.queries.get(statement) : undefined;
      add(`step ${step.name}`, step.durationMs, db ?? { calls: 0, ms: 0 });
    }
    let gaps = 0;
    for (let i = 1; i < states.length; i++) {
      const prev = states[i - 1];
      const next = states[i];
      if (prev && next && exited(prev) && entered(next)) {
        gaps += Date.parse(next.timestamp) - Date.parse(prev.timestamp);
      }
    }
    add('between states (engine transitions)', gaps);
    add(
      'after last state (flush, executions update)',
      last ? s.doneAt - Date.parse(last.timestamp) : Number.NaN,
    );
    add('total (wall, start() to done)', s.wallMs);
  }

  const rows: ProfileRow[] = [...phases.entries()].map(([phase, p]) => ({
    phase,
    medianMs: round(median(p.ms)),
    ...(p.db.length > 0 ? { dbMs: round(median(p.db)), dbCalls: median(p.calls) } : {}),
  }));

  const labels = new Set(samples.flatMap((s) => [...s.queries.keys()]));
  const queries: QueryRow[] = [...labels]
    .map((statement) => {
      const times = samples.map((s) => s.queries.get(statement) ?? { calls: 0, ms: 0 });
      return {
        statement,
        medianCalls: median(times.map((t) => t.calls)),
        medianMs: round(median(times.map((t) => t.ms))),
      };
    })
    .sort((a, b) => b.medianMs - a.medianMs);

  return { phases: rows, queries };
}
