import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { dirname, resolve } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import { backupStore } from '../shared/blobs/connect';
import type { BlobStore } from '../shared/blobs/port';
import { BlueprintCatalog } from '../shared/blueprint';
import { canonicalJson } from '../shared/engine/names';
import { TRANSIENT_ERROR_NAMES } from '../shared/errors';
import { logger } from '../shared/observability/logger';
import {
  type ExecutionProgress,
  type ExecutionStatus,
  type HistoryEvent,
  stepsFromHistory,
} from '../shared/progress';
import { ensureLocalStore } from '../shared/registry/control';
import { type Runtime, withRuntime } from '../shared/runtime';
import type { SqlClient } from '../shared/sql/port';
import { DEFAULT_TASK_TIMEOUT_SECONDS } from '../statemachine/steps';
import {
  type AslDefinition,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  loadAsl,
  WORKFLOW_BY_NAME,
  type Workflow,
} from '../statemachine/workflows';
import { handlerModuleUrl } from './handler-modules';
import {
  Lease,
  type LeaseSettings,
  leaseExpirySql,
  leaseSettingsFromEnv,
  newLeaseOwner,
  retryTransient,
} from './lease';
import {
  type CompiledMachine,
  type CompiledWorkflow,
  compileWorkflow,
  type MapSpec,
  runMap,
  type StartExecutionTask,
  statesError,
} from './map-state';
import { LocalMetrics } from './metrics';
import {
  childFailure,
  childOutput,
  childRequest,
  StartExecutionParametersSchema,
  workflowOfStateMachineArn,
} from './start-execution';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type LambdaHandler = (event: unknown, context: unknown) => Promise<unknown>;

export interface ExecutionRecord {
  readonly executionId: string;
  readonly name: string;
  readonly workflow: string;
  readonly tenantId: string;
  readonly status: ExecutionStatus;
  readonly input: unknown;
  readonly output: unknown;
  readonly error: string | null;
  readonly cause: string | null;
  readonly startedAt: string;
  readonly stoppedAt: string | null;
}

/** Why an execution was stopped, as StopExecution's `error` and `cause`. */
export interface StopReason {
  readonly error: string;
  readonly cause: string;
}

export interface StartResult {
  readonly executionId: string;
  /** True when a run for this tenant (or this exact execution) was already going: no new one started. */
  readonly alreadyRunning: boolean;
  /** Resolves when the run ends (immediately for a run started by another engine). */
  readonly done: Promise<ExecutionRecord>;
  /** Emits 'event' with each HistoryEvent as it happens (only for runs of this engine). */
  readonly events: EventEmitter;
}

export interface LocalEngineOptions {
  readonly db: SqlClient;
  readonly blueprints?: BlueprintCatalog;
  /** Wait this many ms before each retry instead of the ASL's backoff (tests use 0). */
  readonly retryDelayMs?: number;
  /** Runs before each task attempt, inside the task: a throw counts as the task failing (fault injection). */
  readonly beforeTask?: (state: string, attempt: number) => void | Promise<void>;
  /**
   * Runs after the handler succeeded, before its result is returned: a throw models a fault after
   * the work was done (a lost response, a crash), which the retry or Cleanup must cope with.
   */
  readonly afterTask?: (state: string, attempt: number) => void | Promise<void>;
  /** How long a run's lease lasts and how often it is renewed. @default leaseSettingsFromEnv() */
  readonly lease?: LeaseSettings;
  /**
   * How long the engine keeps retrying its own writes (history, the run's close) while the
   * database is away, before it leaves the run to the lease sweep. @default 5 minutes
   */
  readonly storeRetryMs?: number;
  /**
   * The ASL to run, by workflow name, instead of the committed rendering (statemachine/asl/): a
   * test runs the definition from a synthesized template. @default loadAsl(workflow)
   */
  readonly definitions?: Readonly<Record<string, AslDefinition>>;
  /**
   * The file whose `handler` runs a task, instead of the step's TypeScript entry: a test runs the
   * bundles that ship. @default the step's `entry`
   */
  readonly handlerFile?: (workflow: string, state: string) => string;
  /**
   * How long the history writer waits after an event for more before it writes them together: a
   * step's events come in bursts (a state's exit, the next one's entry and its task's start), and
   * each write is one commit. Once the run has ended, what is queued is written at once: closing
   * the execution never waits out a window. @default 2
   */
  readonly historyBatchMs?: number;
  /**
   * The workflows a `startExecution.sync(:2)` Task may start, besides Provision and Deprovision
   * (WORKFLOW_BY_NAME) and any workflow this engine was asked to start. A state machine ARN names
   * one by its name's last `-` segment (start-execution.ts). @default none
   */
  readonly workflows?: readonly Workflow[];
  /**
   * The store a Map's ItemReader reads its object from, given the object's Bucket. Locally the
   * Bucket is not looked at: the Key is read from the store the steps write to, so what a step
   * `put` under a key is what a Map naming that key reads. @default the backup store
   * (shared/blobs/connect.ts: TENANTRY_BACKUP_DIR, a folder)
   */
  readonly blobStore?: (bucket: string) => BlobStore | Promise<BlobStore>;
}

const DEFAULT_STORE_RETRY_MS = 5 * 60_000;
const DEFAULT_HISTORY_BATCH_MS = 2;

/** The interpreter, loaded on the first run: commands that only read (status, list) never pay for it. */
let interpreter: Promise<typeof import('aws-local-stepfunctions')> | undefined;
const stepFunctions = () => {
  interpreter ??= import('aws-local-stepfunctions');
  return interpreter;
};

interface WorkflowRuntime {
  readonly spec: Workflow;
  readonly asl: AslDefinition;
  /**
   * The ASL compiled for the local engine (map-state.ts): its Map states run by the engine, its
   * item processors' machines. Built once: building (and validating) costs, too much per run.
   */
  readonly compiled: CompiledWorkflow;
  readonly handlers: Map<string, Promise<LambdaHandler>>;
}

type EventInput = Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp'>;

/** One run of a workflow, as its task handlers see it. */
interface RunScope {
  readonly wf: WorkflowRuntime;
  readonly executionId: string;
  readonly writer: HistoryWriter;
}

/**
 * Where a task runs: the execution itself, or one iteration of a Map. Its tasks record their
 * events with `record` (the execution's history; nothing, in a Distributed Map's iteration), stop
 * what they started when `signal` aborts (the execution, or the Map, stopping), and leave in
 * `pending` what is still going (a child execution, a Map), which the run or iteration awaits
 * before it counts as ended.
 */
interface TaskScope {
  readonly record: (event: EventInput, at?: number) => void;
  readonly signal: AbortSignal;
  readonly pending: Set<Promise<unknown>>;
  /** Attempts per task state in this scope (a retry of the state is its next attempt). */
  readonly attempts: Map<string, number>;
  /** How often each state was entered in this scope, counted from the events it records. */
  readonly entered: Map<string, number>;
  /** Per task state: the entry its last invocation belonged to, and the invocations of that entry. */
  readonly invocations: Map<string, { entry: number; count: number }>;
}

/** A scope whose `record` also counts the states entered, so a task can tell a retry from a new entry. */
function taskScope(record: TaskScope['record'], signal: AbortSignal): TaskScope {
  const entered = new Map<string, number>();
  return {
    record: (event, at) => {
      const name = (event as { stateEnteredEventDetails?: { name?: string } }).stateEnteredEventDetails?.name;
      if (name && event.type.endsWith('StateEntered')) entered.set(name, (entered.get(name) ?? 0) + 1);
      record(event, at);
    },
    signal,
    pending: new Set(),
    attempts: new Map(),
    entered,
    invocations: new Map(),
  };
}

/**
 * `$$.State.RetryCount` of this invocation of a task state, as Step Functions would put it in the
 * payload: 0 on entering the state, one more at each retry. aws-local-stepfunctions keeps no
 * per-state context object, so the engine counts it from the events.
 */
function retryCountOf(scope: TaskScope, state: string): number {
  const entry = scope.entered.get(state) ?? 0;
  const last = scope.invocations.get(state);
  const retryCount = last && last.entry === entry ? last.count : 0;
  scope.invocations.set(state, { entry, count: retryCount + 1 });
  return retryCount;
}

/** Resolves once every promise in `pending` has settled, including ones added meanwhile. */
async function settled(pending: Set<Promise<unknown>>): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}

function track<T>(scope: TaskScope, work: Promise<T>): Promise<T> {
  scope.pending.add(work);
  const done = () => scope.pending.delete(work);
  work.then(done, done);
  return work;
}

/**
 * Runs the workflows' ASL, rendered from the same CDK chain that is deployed, with
 * aws-local-stepfunctions and the real step handlers in this process. Executions and their
 * history (in GetExecutionHistory's shape) are kept in the control schema.
 */
export class LocalEngine {
  private readonly scope: Runtime;
  /** The metrics this engine's handlers emit, counted for `GET /stats` (local/metrics.ts). */
  readonly metrics: LocalMetrics;
  private readonly workflows = new Map<string, WorkflowRuntime>();
  /** The workflows a startExecution Task may start, by name. */
  private readonly catalog = new Map<string, Workflow>();
  private readonly live = new Map<
    string,
    { done: Promise<ExecutionRecord>; events: EventEmitter; abort: (reason?: StopReason) => void }
  >();

  /** This engine's id as a lease holder: unique per engine, so per process. */
  readonly owner = newLeaseOwner();
  readonly leaseSettings: LeaseSettings;

  constructor(private readonly options: LocalEngineOptions) {
    this.metrics = new LocalMetrics(options.db);
    this.scope = {
      db: options.db,
      blueprints: options.blueprints ?? new BlueprintCatalog(),
      metrics: this.metrics,
    };
    this.leaseSettings = options.lease ?? leaseSettingsFromEnv();
    for (const w of [...Object.values(WORKFLOW_BY_NAME), ...(options.workflows ?? [])])
      this.catalog.set(w.name, w);
  }

  /** The executions this engine is running now (their leases are renewed here). */
  liveExecutionIds(): string[] {
    return [...this.live.keys()];
  }

  /** A run this engine is running: it emits each history event (`event`) as the run appends it. */
  eventsOf(executionId: string): EventEmitter | undefined {
    return this.live.get(executionId)?.events;
  }

  /** What the handlers run against: the database and the blueprints. */
  get runtime(): Runtime {
    return this.scope;
  }

  get db(): SqlClient {
    return this.scope.db;
  }

  get blueprints(): BlueprintCatalog {
    return this.scope.blueprints;
  }

  private async workflow(spec: Workflow): Promise<WorkflowRuntime> {
    let wf = this.workflows.get(spec.name);
    if (!wf) {
      const { StateMachine } = await stepFunctions();
      const given = this.options.definitions?.[spec.name];
      const asl = given ?? loadAsl(spec);
      // The committed ASL is checked against the CDK chain at build time (test/infra/asl.test.ts);
      // a definition from elsewhere is validated here, as written (before its Map states are compiled).
      if (given) validateAsl(StateMachine, asl);
      wf = { spec, asl, compiled: compileWorkflow(asl, StateMachine), handlers: new Map() };
      this.workflows.set(spec.name, wf);
    }
    return wf;
  }

  executionArn(workflow: string, name: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${workflow}:${name}`;
  }

  /** The local state machine of a workflow: what a startExecution Task names to start it. */
  stateMachineArn(workflow: string): string {
    return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${workflow}`;
  }

  /**
   * Starts a run unless one is already going for the tenant: then it returns that one. A start
   * with the name of an existing execution returns that execution (idempotent start).
   */
  async start(
    spec: Workflow,
    tenantId: string,
    input: Record<string, unknown>,
    name?: string,
  ): Promise<StartResult> {
    await ensureLocalStore(this.db);
    const wf = await this.workflow(spec);
    this.catalog.set(spec.name, spec);
    const execName = name ?? `${tenantId}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
    const executionId = this.executionArn(spec.name, execName);
    // The run and its lease in one statement: no moment where it is RUNNING without an owner.
    const { rows } = await this.db.query<{ execution_id: string }>(
      `WITH started AS (
         INSERT INTO tenantry.executions (execution_id, name, workflow, tenant_id, status, input)
         VALUES ($1, $4, $5, $6, 'RUNNING', $7::jsonb) ON CONFLICT DO NOTHING RETURNING execution_id)
       INSERT INTO tenantry.execution_leases (execution_id, owner, expires_at)
       SELECT execution_id, $2, ${leaseExpirySql('$3')} FROM started RETURNING execution_id`,
      [
        executionId,
        this.owner,
        this.leaseSettings.timeoutMs,
        execName,
        spec.name,
        tenantId,
        JSON.stringify(input),
      ],
    );
    if (rows.length === 0) {
      const existing = await this.db.query<{ execution_id: string }>(
        `SELECT execution_id FROM tenantry.executions
          WHERE execution_id = $1 OR (tenant_id = $2 AND workflow = $3 AND status = 'RUNNING')
          ORDER BY (execution_id = $1) DESC LIMIT 1`,
        [executionId, tenantId, spec.name],
      );
      const id = existing.rows[0]?.execution_id ?? executionId;
      const liveRun = this.live.get(id);
      const done =
        liveRun?.done ??
        this.describe(id).then((r) => r ?? Promise.reject(new Error(`execution ${id} vanished`)));
      done.catch(() => {}); // the caller's to handle: never an unhandled rejection
      return { executionId: id, alreadyRunning: true, done, events: liveRun?.events ?? new EventEmitter() };
    }
    const events = new EventEmitter();
    let abort = (_reason?: StopReason) => {};
    const done = this.run(wf, executionId, execName, input, events, (fn) => {
      abort = fn;
    });
    this.live.set(executionId, { done, events, abort: (reason) => abort(reason) });
    // Handled here, so a run whose close failed never ends the process (an unhandled rejection):
    // its lease expires and the sweep (recovery.ts) finishes it.
    done.then(
      () => this.live.delete(executionId),
      (error: unknown) => {
        this.live.delete(executionId);
        logger.error('local run could not be closed; the lease sweep will finish it', {
          executionId,
          error: String(error),
        });
      },
    );
    return { executionId, alreadyRunning: false, done, events };
  }

  /** Stops a run of this engine; false if it is not running here. */
  abort(executionId: string, reason?: StopReason): boolean {
    const run = this.live.get(executionId);
    if (!run) return false;
    run.abort(reason);
    return true;
  }

  /**
   * Stops an execution as StopExecution does: it ends ABORTED with this error and cause on its
   * ExecutionAborted event, and nothing more is recorded for it. Like StopExecution, this does not
   * run the Catch (the caller cleans up), and a task already in flight is not interrupted: its
   * result is dropped. A run left RUNNING by another process is closed in the store.
   */
  async stop(executionId: string, reason: StopReason): Promise<ExecutionRecord | undefined> {
    const run = this.live.get(executionId);
    if (run) {
      run.abort(reason);
      return run.done;
    }
    await ensureLocalStore(this.db);
    await this.db.transaction(async (tx) => {
      // The row lock first, then (a new snapshot) the last event: the run's history writer takes
      // the same row FOR SHARE, so no event of it can land between the two.
      const running = await tx.query(
        `SELECT 1 FROM tenantry.executions WHERE execution_id = $1 AND status = 'RUNNING' FOR UPDATE`,
        [executionId],
      );
      if (running.rows.length === 0) return;
      const { rows } = await tx.query<{ id: number }>(
        'SELECT coalesce(max(id), 0) AS id FROM tenantry.execution_events WHERE execution_id = $1',
        [executionId],
      );
      const last = rows[0]?.id ?? 0;
      const event: HistoryEvent = {
        id: last + 1,
        previousEventId: last,
        timestamp: new Date().toISOString(),
        type: 'ExecutionAborted',
        executionAbortedEventDetails: reason,
      };
      await tx.query(
        'INSERT INTO tenantry.execution_events (execution_id, id, event) VALUES ($1, $2, $3::jsonb)',
        [executionId, event.id, JSON.stringify(event)],
      );
      await tx.query(
        `UPDATE tenantry.executions SET status = 'ABORTED', error = $2, cause = $3, stopped_at = clock_timestamp()
          WHERE execution_id = $1`,
        [executionId, reason.error, reason.cause],
      );
      // Its holder, at its next renewal, finds the lease gone and leaves the run alone.
      await tx.query('DELETE FROM tenantry.execution_leases WHERE execution_id = $1', [executionId]);
    });
    return this.describe(executionId);
  }

  private async run(
    wf: WorkflowRuntime,
    executionId: string,
    name: string,
    input: Record<string, unknown>,
    events: EventEmitter,
    onAbort: (abort: (reason?: StopReason) => void) => void,
  ): Promise<ExecutionRecord> {
    const history: HistoryEvent[] = [];
    const writer = new HistoryWriter(
      this.db,
      executionId,
      this.owner,
      this.options.historyBatchMs ?? DEFAULT_HISTORY_BATCH_MS,
    );
    const storeRetryMs = this.options.storeRetryMs ?? DEFAULT_STORE_RETRY_MS;
    let stopReason: StopReason | undefined;
    let ended = false;
    const append = (event: Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp'>, at = Date.now()) => {
      // As on Step Functions: once the execution has ended (a stop), a task still in flight records nothing.
      if (ended || (stopReason && event.type !== 'ExecutionAborted')) return;
      if (event.type.startsWith('Execution') && event.type !== 'ExecutionStarted') ended = true;
      const full: HistoryEvent = {
        ...event,
        ...(event.type === 'ExecutionAborted' && stopReason
          ? { executionAbortedEventDetails: stopReason }
          : {}),
        id: history.length + 1,
        previousEventId: history.length,
        timestamp: new Date(at).toISOString(),
      };
      history.push(full);
      writer.push(full);
      events.emit('event', full);
    };

    // Aborted when the run stops, for whatever reason: its Maps launch nothing more and the child
    // executions it started are stopped; the run is closed once they have ended.
    const halt = new AbortController();
    const scope = taskScope(append, halt.signal);
    const run: RunScope = { wf, executionId, writer };
    const execution = wf.compiled.root.machine.run(input as Json, {
      overrides: this.overrides(wf.compiled.root, run, scope),
      context: {
        // The library has no per-state context; the engine sets RetryCount itself (retryCountOf).
        State: { RetryCount: 0 },
        Execution: {
          Id: executionId,
          Name: name,
          RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/tenantry-local`,
        },
        StateMachine: {
          Id: executionId.replace(':execution:', ':stateMachine:').replace(/:[^:]+$/, ''),
          Name: wf.spec.name,
        },
      },
    });
    onAbort((reason) => {
      stopReason = reason ?? { error: 'Aborted', cause: 'the execution was stopped' };
      halt.abort(stopReason);
      execution.abort();
    });
    // Another process took the run over (its lease had expired) or closed it: stop, write nothing more.
    const lease = new Lease(this.db, executionId, this.owner, this.leaseSettings, () => {
      writer.stop();
      stopReason ??= { error: 'LeaseLost', cause: 'another process took this execution over' };
      halt.abort(stopReason);
      execution.abort();
    }).start();

    const consume = (async () => {
      for await (const e of execution.eventLogs) {
        const mapped = mapEngineEvent(e as unknown as EngineEvent, wf.compiled.mapStates);
        if (mapped) scope.record(mapped, (e as { timestamp?: number }).timestamp);
      }
    })();

    const { ExecutionAbortedError } = await stepFunctions();
    let status: ExecutionStatus = 'SUCCEEDED';
    let output: unknown = null;
    try {
      output = await execution.result;
    } catch (error) {
      status =
        error instanceof ExecutionAbortedError
          ? 'ABORTED'
          : /timeout/i.test((error as Error).name)
            ? 'TIMED_OUT'
            : 'FAILED';
      if (status !== 'FAILED') logger.warn('execution ended', { executionId, status });
    }
    // Whatever it started and is still going (a child of a failed or timed-out run) is stopped too.
    if (!halt.signal.aborted) halt.abort({ error: 'States.Aborted', cause: `the execution ended ${status}` });
    await settled(scope.pending);
    await consume;
    // The run's metrics are stored beside its close (flush never rejects), and before it is done.
    const metricsStored = this.metrics.flush();
    const failed =
      history.findLast((h) => h.type === 'ExecutionFailed')?.executionFailedEventDetails ??
      (status === 'ABORTED' ? stopReason : undefined);
    let closed: ExecutionRecord | undefined;
    try {
      if (!lease.isLost && status === 'FAILED' && cleanupGaveUp(history, wf.spec.cleanup.state)) {
        // The database stayed away through all of Cleanup's retries: what it could not undo is
        // left to the lease sweep, which runs Cleanup again once it can, then closes the run.
        await writer.settle(storeRetryMs);
        throw new Error(
          `the Cleanup of execution ${executionId} gave up on a transient fault; the run is left to the lease sweep`,
        );
      }
      if (!lease.isLost) {
        if (!(await writer.settle(storeRetryMs))) {
          throw new Error(
            `the history of execution ${executionId} could not be stored; the run is left to the lease sweep`,
          );
        }
        // Only a run still RUNNING and still ours is closed here, its lease released in the same
        // statement: one stopped or recovered meanwhile (recovery.ts) keeps its verdict. The row
        // it closed is the record returned; otherwise the record is read below.
        const { rows } = await retryTransient(
          'closing the execution',
          () =>
            this.db.query<ExecutionRow>(
              `WITH released AS (
                 DELETE FROM tenantry.execution_leases WHERE execution_id = $1 AND owner = $6 RETURNING 1)
               UPDATE tenantry.executions
                  SET status = $2, output = $3::jsonb, error = $4, cause = $5, stopped_at = clock_timestamp()
                WHERE execution_id = $1 AND status = 'RUNNING' AND EXISTS (SELECT 1 FROM released)
               RETURNING ${EXECUTION_COLUMNS}`,
              [
                executionId,
                status,
                JSON.stringify(output ?? null),
                failed?.error ?? null,
                failed?.cause ?? null,
                this.owner,
              ],
            ),
          { giveUpAfterMs: storeRetryMs },
        );
        closed = rows[0] ? toRecord(rows[0]) : undefined;
      }
    } finally {
      lease.stop();
    }
    await metricsStored;
    const record =
      closed ??
      (await retryTransient('reading the execution', () => this.describe(executionId), {
        giveUpAfterMs: storeRetryMs,
      }));
    if (!record) throw new Error(`execution ${executionId} is missing from the store`);
    return record;
  }

  /** The task handlers of one machine (the workflow's, or an item processor's) in one scope. */
  private overrides(machine: CompiledMachine, run: RunScope, scope: TaskScope) {
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    for (const task of run.wf.spec.tasks) handlers[task.state] = this.lambdaTask(task, run, scope);
    for (const [state, task] of machine.engineTasks) {
      handlers[state] =
        task.kind === 'map'
          ? this.mapTask(task.map, run, scope)
          : this.startExecutionTask(state, task, run, scope);
    }
    const retryIntervalOverrides: Record<string, number> = {};
    if (this.options.retryDelayMs !== undefined) {
      for (const state of [...machine.retried, ...run.wf.spec.tasks.map((t) => t.state)])
        retryIntervalOverrides[state] = this.options.retryDelayMs;
    }
    return { taskResourceLocalHandlers: handlers, retryIntervalOverrides };
  }

  /** A Lambda task: the step's handler, in this process, with the events Step Functions records. */
  private lambdaTask(task: Workflow['tasks'][number], run: RunScope, scope: TaskScope) {
    const { wf, writer } = run;
    return async (taskInput: Json): Promise<Json> => {
      // Let the engine's own events (StateEntered, a retry) reach the history first.
      await nextTurn();
      const attempt = (scope.attempts.get(task.state) ?? 0) + 1;
      scope.attempts.set(task.state, attempt);
      const input = taskInput as { Payload?: unknown } | null;
      const payload = withRetryCount(input?.Payload, retryCountOf(scope, task.state));
      const details = { resourceType: 'lambda', resource: 'invoke' };
      scope.record({
        type: 'TaskScheduled',
        taskScheduledEventDetails: {
          ...details,
          region: LOCAL_REGION,
          parameters: JSON.stringify(
            input && typeof input === 'object' ? { ...input, Payload: payload } : input,
          ),
          timeoutInSeconds: task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
        },
      });
      scope.record({ type: 'TaskStarted', taskStartedEventDetails: details });
      if (attempt === 1) await testPause(`${wf.spec.name}:${task.state}`, writer);
      try {
        await this.options.beforeTask?.(task.state, attempt);
        const handler = await this.handlerFor(
          wf,
          task.state,
          this.options.handlerFile?.(wf.spec.name, task.state) ?? task.entry,
        );
        const result = await withRuntime(this.scope, () => handler(payload, lambdaContext(task.state)));
        await this.options.afterTask?.(task.state, attempt);
        const output = { ExecutedVersion: '$LATEST', Payload: (result ?? null) as Json, StatusCode: 200 };
        scope.record({
          type: 'TaskSucceeded',
          taskSucceededEventDetails: { ...details, output: JSON.stringify(output) },
        });
        return output;
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        const cause = JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] });
        scope.record({ type: 'TaskFailed', taskFailedEventDetails: { ...details, error: e.name, cause } });
        // As on AWS: the error is the Lambda's errorType, the cause its JSON error document.
        throw statesError(e.name, cause);
      }
    };
  }

  /** A Map state (compiled to a Task, map-state.ts): the engine runs its iterations. */
  private mapTask(spec: MapSpec, run: RunScope, scope: TaskScope) {
    return (args: Json): Promise<Json> =>
      track(
        scope,
        (async () => {
          // Its MapStateEntered (the library's StateEntered) first.
          await nextTurn();
          return runMap(spec, args, {
            workflow: run.wf.spec.name,
            record: scope.record,
            signal: scope.signal,
            readObject: async (bucket, key) =>
              (await (this.options.blobStore?.(bucket) ?? backupStore())).get(key),
            iterate: (_index, item, signal, context) => this.iterate(spec, item, signal, context, run, scope),
          });
        })(),
      );
  }

  /**
   * One iteration of a Map: a run of its item processor. An Inline Map's iterations record their
   * state and task events in the execution's history (until the iteration is aborted); a
   * Distributed Map's record none there (on AWS they are in the child workflow execution's own).
   * Settles once everything the iteration started has ended.
   */
  private async iterate(
    spec: MapSpec,
    item: Json,
    signal: AbortSignal,
    context: Record<string, unknown>,
    run: RunScope,
    parent: TaskScope,
  ): Promise<Json> {
    const inline = spec.mode === 'INLINE';
    const record: TaskScope['record'] = (event, at) => {
      if (inline && !signal.aborted) parent.record(event, at);
    };
    const scope = taskScope(record, signal);
    const execution = spec.processor.machine.run(item, {
      overrides: this.overrides(spec.processor, run, scope),
      context,
    });
    const abort = () => execution.abort();
    signal.addEventListener('abort', abort, { once: true });
    if (signal.aborted) abort();
    const forward = (async () => {
      for await (const e of execution.eventLogs) {
        const event = e as unknown as EngineEvent;
        // The iteration's states; its own start and end are the Map's MapIteration* events.
        if (event.type !== 'StateEntered' && event.type !== 'StateExited') continue;
        const mapped = mapEngineEvent(event, run.wf.compiled.mapStates);
        if (mapped) scope.record(mapped, event.timestamp);
      }
    })();
    try {
      return (await execution.result) as Json;
    } catch (error) {
      const e = error as Error & { cause?: unknown };
      if (e.name === 'ExecutionError' && e.cause instanceof Error) throw e.cause;
      if (e.name === 'ExecutionTimeoutError')
        throw statesError('States.Timeout', 'the item processor timed out');
      throw e;
    } finally {
      signal.removeEventListener('abort', abort);
      await forward;
      await settled(scope.pending);
    }
  }

  /**
   * A `startExecution.sync(:2)` task: starts a child execution of the workflow its StateMachineArn
   * names (start-execution.ts), recorded like any run, waits for it and returns DescribeExecution's
   * shape; a child that did not succeed fails the task with States.TaskFailed. When the scope stops
   * (the execution is stopped or ends, or the Map holding the task fails or is stopped), or the
   * state's TimeoutSeconds passes, the child is stopped, as Step Functions stops a child started
   * with .sync when its parent stops; the task settles once the child has ended.
   */
  private startExecutionTask(state: string, task: StartExecutionTask, run: RunScope, scope: TaskScope) {
    return (params: Json): Promise<Json> =>
      track(
        scope,
        (async () => {
          await nextTurn();
          const details = { resourceType: 'states', resource: task.resource };
          scope.record({
            type: 'TaskScheduled',
            taskScheduledEventDetails: {
              ...details,
              region: LOCAL_REGION,
              parameters: JSON.stringify(params),
              ...(task.timeoutSeconds === undefined ? {} : { timeoutInSeconds: task.timeoutSeconds }),
            },
          });
          scope.record({ type: 'TaskStarted', taskStartedEventDetails: details });
          try {
            const output = await this.runChild(state, task, params, run, scope, details);
            scope.record({
              type: 'TaskSucceeded',
              taskSucceededEventDetails: { ...details, output: JSON.stringify(output) },
            });
            return output as Json;
          } catch (error) {
            const e = error instanceof Error ? error : new Error(String(error));
            scope.record(
              e.name === 'States.Timeout'
                ? {
                    type: 'TaskTimedOut',
                    taskTimedOutEventDetails: { ...details, error: e.name, cause: e.message },
                  }
                : {
                    type: 'TaskFailed',
                    taskFailedEventDetails: { ...details, error: e.name, cause: e.message },
                  },
            );
            throw statesError(e.name, e.message);
          }
        })(),
      );
  }

  private async runChild(
    state: string,
    task: StartExecutionTask,
    params: Json,
    run: RunScope,
    scope: TaskScope,
    details: { resourceType: string; resource: string },
  ): Promise<Record<string, unknown>> {
    const parsed = StartExecutionParametersSchema.safeParse(params);
    if (!parsed.success) {
      throw statesError(
        'States.Runtime',
        `state ${state}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    const arn = parsed.data.StateMachineArn;
    const workflow = workflowOfStateMachineArn(arn);
    const spec = workflow ? this.catalog.get(workflow) : undefined;
    if (!spec) {
      throw statesError(
        'StepFunctions.StateMachineDoesNotExistException',
        `State Machine Does Not Exist: '${arn}' (the local engine knows no workflow ${workflow ?? ''})`,
      );
    }
    const request = childRequest(parsed.data, state);
    if (scope.signal.aborted) throw stoppedError(scope.signal);
    const started = await this.start(spec, request.tenantId, request.input, request.name);
    const childId = started.executionId;
    if (started.alreadyRunning) {
      // StartExecution with the name of an execution still running with the same input is that
      // execution; anything else is ExecutionAlreadyExists (on AWS for a name taken; locally also
      // for a tenant that already runs this workflow: one run per tenant and workflow).
      const existing = await this.describe(childId);
      const same =
        request.name !== undefined &&
        childId === this.executionArn(spec.name, request.name) &&
        existing?.status === 'RUNNING' &&
        canonicalJson(existing.input) === canonicalJson(request.input);
      if (!same) {
        throw statesError(
          'StepFunctions.ExecutionAlreadyExistsException',
          childId === this.executionArn(spec.name, request.name ?? '')
            ? `Execution Already Exists: '${childId}'`
            : `tenant ${request.tenantId} already has a running ${spec.name} execution: '${childId}'`,
        );
      }
    }
    scope.record({
      type: 'TaskSubmitted',
      taskSubmittedEventDetails: {
        ...details,
        output: JSON.stringify({ ExecutionArn: childId, StartDate: Date.now() }),
      },
    });
    const record = await this.waitForChild(started, task, run, scope.signal);
    if (record.status !== 'SUCCEEDED') throw childFailure(record, arn);
    return childOutput(record, arn, task.integration);
  }

  /** Waits for a child to end; stops it when `signal` aborts or the task's timeout passes. */
  private async waitForChild(
    started: StartResult,
    task: StartExecutionTask,
    run: RunScope,
    signal: AbortSignal,
  ): Promise<ExecutionRecord> {
    const id = started.executionId;
    const stopChild = (reason: StopReason) => {
      this.stop(id, reason).catch((error: unknown) =>
        logger.error('could not stop a child execution', { executionId: id, error: String(error) }),
      );
    };
    const onStop = () => {
      const why = signal.reason as Partial<StopReason> | undefined;
      stopChild({
        error: why?.error ?? 'Aborted',
        cause: `stopped with execution ${run.executionId}: ${why?.cause ?? 'it was stopped'}`,
      });
    };
    signal.addEventListener('abort', onStop, { once: true });
    if (signal.aborted) onStop();
    let timedOut = false;
    const timer =
      task.timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stopChild({
              error: 'States.Timeout',
              cause: `the task started it and timed out after ${task.timeoutSeconds} s`,
            });
          }, task.timeoutSeconds * 1000);
    try {
      const live = this.live.get(id);
      // A run of another process (a same-named start joined above) is read from the store until it ends.
      const record = live
        ? await live.done
        : started.alreadyRunning
          ? await this.untilClosed(id)
          : await started.done;
      if (timedOut)
        throw statesError(
          'States.Timeout',
          `the child execution ${id} did not end within ${task.timeoutSeconds} s`,
        );
      if (signal.aborted) throw stoppedError(signal);
      return record;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
    }
  }

  private async untilClosed(executionId: string): Promise<ExecutionRecord> {
    for (;;) {
      const record = await this.describe(executionId);
      if (!record) throw new Error(`execution ${executionId} vanished`);
      if (record.status !== 'RUNNING') return record;
      await sleep(250);
    }
  }

  private handlerFor(wf: WorkflowRuntime, state: string, entry: string): Promise<LambdaHandler> {
    let handler = wf.handlers.get(state);
    if (!handler) {
      handler = import(handlerModuleUrl(ROOT, entry)).then((mod: { handler?: LambdaHandler }) => {
        if (typeof mod.handler !== 'function') throw new Error(`${entry} does not export a handler`);
        return mod.handler;
      });
      wf.handlers.set(state, handler);
    }
    return handler;
  }

  async describe(executionId: string): Promise<ExecutionRecord | undefined> {
    await ensureLocalStore(this.db);
    const { rows } = await this.db.query<ExecutionRow>(
      `SELECT ${EXECUTION_COLUMNS} FROM tenantry.executions WHERE execution_id = $1`,
      [executionId],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async history(executionId: string): Promise<HistoryEvent[]> {
    await ensureLocalStore(this.db);
    const { rows } = await this.db.query<{ event: HistoryEvent }>(
      'SELECT event FROM tenantry.execution_events WHERE execution_id = $1 ORDER BY id',
      [executionId],
    );
    return rows.map((r) => r.event);
  }

  async progress(spec: Workflow, executionId: string): Promise<ExecutionProgress> {
    return stepsFromHistory(
      spec.tasks.map((t) => t.state),
      await this.history(executionId),
    );
  }

  async executionsOf(tenantId: string): Promise<ExecutionRecord[]> {
    await ensureLocalStore(this.db);
    const { rows } = await this.db.query<ExecutionRow>(
      `SELECT ${EXECUTION_COLUMNS} FROM tenantry.executions WHERE tenant_id = $1 ORDER BY started_at DESC`,
      [tenantId],
    );
    return rows.map(toRecord);
  }
}

const EXECUTION_COLUMNS =
  'execution_id, name, workflow, tenant_id, status, input, output, error, cause, started_at, stopped_at';

interface ExecutionRow {
  execution_id: string;
  name: string;
  workflow: string;
  tenant_id: string;
  status: ExecutionStatus;
  input: unknown;
  output: unknown;
  error: string | null;
  cause: string | null;
  started_at: Date;
  stopped_at: Date | null;
  [key: string]: unknown;
}

function toRecord(r: ExecutionRow): ExecutionRecord {
  return {
    executionId: r.execution_id,
    name: r.name,
    workflow: r.workflow,
    tenantId: r.tenant_id,
    status: r.status,
    input: r.input,
    output: r.output,
    error: r.error,
    cause: r.cause,
    startedAt: new Date(r.started_at).toISOString(),
    stoppedAt: r.stopped_at ? new Date(r.stopped_at).toISOString() : null,
  };
}

/** The payload with its `execution.retryCount` (statemachine/tasks.ts) set to the engine's count. */
function withRetryCount(payload: unknown, retryCount: number): unknown {
  const execution = (payload as { execution?: unknown } | null)?.execution;
  if (!execution || typeof execution !== 'object' || !('retryCount' in execution)) return payload;
  return { ...(payload as object), execution: { ...execution, retryCount } };
}

function lambdaContext(state: string) {
  const deadline = Date.now() + 15 * 60_000;
  return {
    functionName: `tenantry-${state}`,
    functionVersion: '$LATEST',
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    callbackWaitsForEmptyEventLoop: false,
  };
}

interface EngineEvent {
  type: string;
  timestamp: number;
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: unknown;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
}

/**
 * aws-local-stepfunctions' events -> GetExecutionHistory events. Task-level events (scheduled,
 * started, succeeded, failed) are written by the task wrapper itself, as Step Functions writes
 * them; the engine's StateFailed/StateRetried/StateCaught have no counterpart there.
 */
function mapEngineEvent(
  e: EngineEvent,
  mapStates: ReadonlySet<string>,
): Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp'> | undefined {
  const cause =
    e.Cause === undefined ? undefined : typeof e.Cause === 'string' ? e.Cause : JSON.stringify(e.Cause);
  switch (e.type) {
    case 'ExecutionStarted':
      return {
        type: 'ExecutionStarted',
        executionStartedEventDetails: {
          input: JSON.stringify(e.input ?? null),
          roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/tenantry-local`,
        },
      };
    case 'ExecutionSucceeded':
      return {
        type: 'ExecutionSucceeded',
        executionSucceededEventDetails: { output: JSON.stringify(e.output ?? null) },
      };
    case 'ExecutionFailed':
      return {
        type: 'ExecutionFailed',
        executionFailedEventDetails: { ...(e.Error ? { error: e.Error } : {}), ...(cause ? { cause } : {}) },
      };
    case 'ExecutionAborted':
      return { type: 'ExecutionAborted', executionAbortedEventDetails: {} };
    case 'ExecutionTimeout':
      return { type: 'ExecutionTimedOut', executionTimedOutEventDetails: { error: 'States.Timeout' } };
    case 'StateEntered':
      if (!e.state) return undefined;
      return {
        type: `${typeOf(e.state, mapStates)}StateEntered`,
        stateEnteredEventDetails: { name: e.state.name, input: JSON.stringify(e.state.input ?? null) },
      };
    case 'StateExited':
      if (!e.state) return undefined;
      return {
        type: `${typeOf(e.state, mapStates)}StateExited`,
        stateExitedEventDetails: { name: e.state.name, output: JSON.stringify(e.state.output ?? null) },
      };
    default:
      return undefined;
  }
}

/** A state's type as the definition has it: a compiled Map runs as a Task (map-state.ts). */
function typeOf(state: { name: string; type: string }, mapStates: ReadonlySet<string>): string {
  return mapStates.has(state.name) ? 'Map' : state.type;
}

/** Validates a definition as written; throws with the validator's findings. */
function validateAsl(Machine: typeof StateMachine, asl: AslDefinition): void {
  // Constructing validates (the instance is not kept: the compiled definition is what runs).
  void new Machine(asl as unknown as StateMachineDefinition, { validationOptions: { checkArn: false } });
}

/** The error a task that was stopped ends with (nothing records it: its scope has ended). */
function stoppedError(signal: AbortSignal): Error {
  const why = signal.reason as Partial<StopReason> | undefined;
  return statesError(why?.error ?? 'States.Aborted', why?.cause ?? 'stopped');
}

/**
 * Whether a run failed because its Cleanup gave up on a transient fault (retries exhausted): the
 * tenant may still be held, so the run must not simply be closed.
 */
export function cleanupGaveUp(history: readonly HistoryEvent[], cleanupState: string): boolean {
  if (history.at(-1)?.type !== 'ExecutionFailed') return false;
  const entered = history.findLast((e) => e.type.endsWith('StateEntered'));
  const failed = history.findLast((e) => e.type === 'TaskFailed')?.taskFailedEventDetails?.error;
  return (
    entered?.stateEnteredEventDetails?.name === cleanupState &&
    (TRANSIENT_ERROR_NAMES as readonly string[]).includes(failed ?? '')
  );
}

/**
 * Test-only fault hook: with `TENANTRY_TEST_PAUSE_AT=<Workflow>:<State>[,...]` (e.g. `Provision:SyncTables`)
 * a run holds before that task's first attempt, once its history so far is stored, says so on
 * stderr and sleeps `TENANTRY_TEST_PAUSE_MS` (default: for ever). The crash and outage tests kill
 * the process or stop the database there.
 */
async function testPause(at: string, writer: HistoryWriter): Promise<void> {
  if (!(process.env.TENANTRY_TEST_PAUSE_AT ?? '').split(',').includes(at)) return;
  await writer.idle();
  process.stderr.write(`tenantry-test: paused before ${at}\n`);
  await sleep(Number(process.env.TENANTRY_TEST_PAUSE_MS ?? 2 ** 31 - 1));
}

/**
 * Appends history rows in order, one write at a time, without holding up the run: the events of a
 * burst (within `batchMs` of the first) go in one write. A write that meets a transient fault (the database is away) is retried with backoff until it lands, so the
 * history stays contiguous; `settle()` says whether all of it was stored in the time given.
 * Rows are written only while the execution is RUNNING and its lease is this engine's.
 */
class HistoryWriter {
  private queue: HistoryEvent[] = [];
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private stopped = false;
  /** A write is queued and has not taken the queue yet: later events join it. */
  private pending = false;
  /** Ends the batch window of the queued write early. */
  private wake: (() => void) | undefined;
  /** The run has ended: no later event will join a batch, so each write goes at once. */
  private ending = false;

  constructor(
    private readonly db: SqlClient,
    private readonly executionId: string,
    private readonly owner: string,
    private readonly batchMs: number,
  ) {}

  push(event: HistoryEvent): void {
    if (this.stopped || this.failure) return;
    this.queue.push(event);
    if (this.pending) return;
    this.pending = true;
    this.writing = this.writing.then(async () => {
      if (this.batchMs > 0 && !this.ending) await this.batchWindow();
      this.pending = false;
      await this.drain();
    });
  }

  private batchWindow(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, this.batchMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Writes nothing more (the run was taken over). */
  stop(): void {
    this.stopped = true;
    this.queue = [];
  }

  /** Resolves when what was pushed so far has been written (or given up on). */
  idle(): Promise<void> {
    return this.writing;
  }

  private async drain(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0 || this.stopped || this.failure) return;
    try {
      await retryTransient('writing the execution history', () => this.write(batch), {
        giveUpAfterMs: Number.POSITIVE_INFINITY,
        stopped: () => this.stopped,
      });
    } catch (error) {
      // A permanent fault, or given up: nothing after this event may be written (no gaps).
      this.failure ??= error;
      logger.error('execution history could not be written', {
        executionId: this.executionId,
        error: String(error),
      });
    }
  }

  private async write(batch: readonly HistoryEvent[]): Promise<void> {
    // Only while the execution is RUNNING and ours: once another process has closed it (a stop)
    // or taken it over (a sweep), a run that wakes up again adds nothing to its history.
    await this.db.query(
      `INSERT INTO tenantry.execution_events (execution_id, id, event)
       SELECT $1, (e->>'id')::integer, e FROM jsonb_array_elements($2::jsonb) AS e
        WHERE EXISTS (SELECT 1 FROM tenantry.executions WHERE execution_id = $1 AND status = 'RUNNING' FOR SHARE)
          AND EXISTS (SELECT 1 FROM tenantry.execution_leases WHERE execution_id = $1 AND owner = $3)
       ON CONFLICT DO NOTHING`,
      [this.executionId, JSON.stringify(batch), this.owner],
    );
  }

  /** True once everything pushed is stored; false if that did not happen within `timeoutMs`. */
  async settle(timeoutMs: number): Promise<boolean> {
    // The run has ended: what is queued is all there will be, so it is written without waiting
    // out the batch window (which would otherwise hold up closing the execution).
    this.ending = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([this.writing.then(() => true as const), gaveUp]);
    clearTimeout(timer);
    if (!done) this.stopped = true;
    return done && !this.failure && !this.stopped;
  }
}
