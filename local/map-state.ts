import { randomUUID } from 'node:crypto';
import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import * as z from 'zod';
import { ConfigError } from '../shared/errors';
import type { HistoryEvent } from '../shared/progress';
import { type AslDefinition, LOCAL_ACCOUNT, LOCAL_REGION } from '../statemachine/workflows';

/**
 * Map states on the local engine.
 *
 * aws-local-stepfunctions (3.0, src/stateMachine/stateActions/MapStateAction.ts) runs every Map as
 * an inline Map and nothing more: ItemProcessor (or the older Iterator), ItemsPath, ItemSelector (or
 * the older Parameters) with `$$.Map.Item`, and MaxConcurrency(Path), where 0 means 40, not
 * unbounded. It ignores ProcessorConfig (no Distributed mode), has no ItemReader, no
 * ToleratedFailureCount/Percentage(Path), no ResultWriter or ItemBatcher; the first failed
 * iteration aborts the others and fails the state; and it writes no Map events a
 * GetExecutionHistory would show. None of that can be changed from outside (its only hooks are
 * per-state Task overrides).
 *
 * So for a local run the definition is compiled (`compileWorkflow`): each Map state becomes a Task
 * state whose local handler is the engine's own Map (`runMap`), the ASL that deploys staying as it
 * is. The Task keeps the Map's InputPath, ResultSelector, ResultPath, OutputPath, Retry and Catch,
 * which the library applies as it does to any state, and its Parameters are a template the
 * library evaluates with the Map's effective input and context: the items (ItemsPath), the
 * ItemReader's Parameters and the *Path fields, so JSONPath and intrinsic functions behave as in
 * every other state. Each iteration runs the item processor, compiled the same way, as a run of
 * the library's own interpreter. A Distributed Map runs that way too, in this process: its
 * iterations are not recorded as executions of their own (on AWS they are the Map Run's child
 * workflow executions); what they start with `startExecution.sync(:2)` is.
 *
 * Task states with `arn:aws:states:::states:startExecution.sync(:2)` are the engine's as well:
 * they start a child execution of a local workflow (engine.ts) instead of calling AWS.
 */

/** The resource of the Task that stands in for a Map state in a compiled definition; never deployed. */
export const LOCAL_MAP_RESOURCE = 'arn:aws:states:::tenantry:localMap';

/**
 * The library times every Task (60 s when TimeoutSeconds is absent) with a setTimeout, which takes
 * at most 2^31-1 ms. A Map has no timeout of its own, and a startExecution Task's timeout is kept
 * by the engine (which stops the child when it passes), so their Tasks get this: never, in practice.
 */
const NO_TIMEOUT_SECONDS = 2_147_483;

const START_EXECUTION_RESOURCE = /^arn:aws[\w-]*:states:::states:startExecution(\.sync(:2)?)?$/;
const S3_GET_OBJECT_RESOURCE = /^arn:aws[\w-]*:states:::s3:getObject$/;

type AslState = Record<string, unknown>;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface StartExecutionTask {
  readonly kind: 'startExecution';
  /** `.sync:2` returns the child's Output as JSON, `.sync` as a string. */
  readonly integration: 'sync' | 'sync:2';
  /** As the history names it: `startExecution.sync:2`. */
  readonly resource: string;
  /** The state's TimeoutSeconds, kept by the engine: when it passes, the child is stopped. */
  readonly timeoutSeconds?: number;
}

export interface MapTask {
  readonly kind: 'map';
  readonly map: MapSpec;
}

/** A Task state the engine runs itself rather than through a Lambda handler. */
export type EngineTask = StartExecutionTask | MapTask;

export interface CompiledMachine {
  /** The definition the library runs: Map states replaced by Tasks, the rest as given. */
  readonly definition: AslDefinition;
  readonly machine: StateMachine;
  /** Its Task states the engine runs (Parallel branches included; a Map's item processor is its own machine). */
  readonly engineTasks: ReadonlyMap<string, EngineTask>;
  /** Its states with a Retry (Parallel branches included): what `retryDelayMs` applies to. */
  readonly retried: readonly string[];
}

export interface CompiledWorkflow {
  readonly root: CompiledMachine;
  /** Every Map state, at any depth: the library reports them as Tasks, the history names them Map. */
  readonly mapStates: ReadonlySet<string>;
}

export interface MapSpec {
  readonly state: string;
  readonly mode: 'INLINE' | 'DISTRIBUTED';
  /** The Map Run's label (Label, or the state's name), as in its ARN. */
  readonly label: string;
  readonly processor: CompiledMachine;
  /** Runs the ItemSelector (a Pass state) with `$$.Map.Item` in the context; absent: the item itself. */
  readonly selector?: StateMachine;
  readonly reader?: { readonly maxItems?: number };
  readonly maxConcurrency?: number;
  readonly toleratedFailurePercentage?: number;
  readonly toleratedFailureCount?: number;
  /** Whether any ToleratedFailure* field is given; a Distributed Map without one tolerates none. */
  readonly tolerates: boolean;
}

/** What the Map fields of a state may hold, for the local engine (asl-validator checks the rest). */
const MapFieldsSchema = z.object({
  ItemsPath: z.string().optional(),
  ItemSelector: z.record(z.string(), z.unknown()).optional(),
  Parameters: z.record(z.string(), z.unknown()).optional(),
  MaxConcurrency: z.number().int().nonnegative().optional(),
  MaxConcurrencyPath: z.string().optional(),
  ToleratedFailurePercentage: z.number().min(0).max(100).optional(),
  ToleratedFailurePercentagePath: z.string().optional(),
  ToleratedFailureCount: z.number().int().nonnegative().optional(),
  ToleratedFailureCountPath: z.string().optional(),
  Label: z.string().optional(),
  ItemReader: z
    .object({
      Resource: z.string().regex(S3_GET_OBJECT_RESOURCE, 'only arn:aws:states:::s3:getObject runs locally'),
      ReaderConfig: z
        .object({
          InputType: z.literal('JSON', { message: 'only InputType JSON runs locally' }),
          MaxItems: z.number().int().positive().optional(),
          MaxItemsPath: z.string().optional(),
        })
        .passthrough(),
      Parameters: z.record(z.string(), z.unknown()),
    })
    .passthrough()
    .optional(),
  ItemProcessor: z
    .object({
      StartAt: z.string(),
      States: z.record(z.string(), z.record(z.string(), z.unknown())),
      ProcessorConfig: z
        .object({ Mode: z.enum(['INLINE', 'DISTRIBUTED']).optional() })
        .passthrough()
        .optional(),
    })
    .passthrough()
    .optional(),
  Iterator: z
    .object({ StartAt: z.string(), States: z.record(z.string(), z.record(z.string(), z.unknown())) })
    .passthrough()
    .optional(),
});

/** Map fields the local engine cannot run: the definition is refused rather than run differently. */
const UNSUPPORTED_MAP_FIELDS = ['ItemBatcher', 'ResultWriter', 'Items', 'ItemsPointer'] as const;

/** The fields of a Map the compiled Task does not keep (the engine's Map reads them). */
const MAP_ONLY_FIELDS = new Set([
  'Type',
  'ItemsPath',
  'ItemSelector',
  'Parameters',
  'ItemProcessor',
  'Iterator',
  'ItemReader',
  'MaxConcurrency',
  'MaxConcurrencyPath',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'Label',
]);

type StateMachineClass = typeof StateMachine;

/**
 * Compiles a workflow's ASL for the local engine (see the top of this file). Throws a ConfigError
 * for what the local engine cannot run as Step Functions would: a JSONata Map, ItemBatcher,
 * ResultWriter, an ItemReader other than a JSON array in S3, or `startExecution` without `.sync`.
 */
export function compileWorkflow(asl: AslDefinition, Machine: StateMachineClass): CompiledWorkflow {
  const mapStates = new Set<string>();
  return { root: compileMachine(asl, Machine, mapStates), mapStates };
}

function compileMachine(
  definition: AslDefinition,
  Machine: StateMachineClass,
  mapStates: Set<string>,
): CompiledMachine {
  const engineTasks = new Map<string, EngineTask>();
  const retried: string[] = [];
  const compiled = {
    ...definition,
    States: compileStates(definition.States, Machine, mapStates, engineTasks, retried),
  };
  return {
    definition: compiled,
    machine: new Machine(compiled as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    }),
    engineTasks,
    retried,
  };
}

function compileStates(
  states: Record<string, AslState>,
  Machine: StateMachineClass,
  mapStates: Set<string>,
  engineTasks: Map<string, EngineTask>,
  retried: string[],
): Record<string, AslState> {
  const out: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(states)) {
    if (state.Retry) retried.push(name);
    if (state.Type === 'Map') {
      mapStates.add(name);
      const { spec, task } = compileMap(name, state, Machine, mapStates);
      engineTasks.set(name, { kind: 'map', map: spec });
      out[name] = task;
      continue;
    }
    const startExecution =
      state.Type === 'Task' && typeof state.Resource === 'string'
        ? START_EXECUTION_RESOURCE.exec(state.Resource)
        : null;
    if (startExecution) {
      if (!startExecution[1]) {
        throw new ConfigError(
          `state ${name}: startExecution without .sync does not run locally (use .sync or .sync:2)`,
        );
      }
      const timeout = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined;
      engineTasks.set(name, {
        kind: 'startExecution',
        integration: startExecution[2] ? 'sync:2' : 'sync',
        resource: `startExecution${startExecution[1]}`,
        ...(timeout === undefined ? {} : { timeoutSeconds: timeout }),
      });
      // The engine keeps the timeout, so that it can stop the child when it passes.
      out[name] = state.TimeoutSecondsPath ? state : { ...state, TimeoutSeconds: NO_TIMEOUT_SECONDS };
      continue;
    }
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      // Branches run with their parent's Task overrides: their tasks are the parent machine's.
      out[name] = {
        ...state,
        Branches: (state.Branches as AslDefinition[]).map((branch) => ({
          ...branch,
          States: compileStates(branch.States, Machine, mapStates, engineTasks, retried),
        })),
      };
      continue;
    }
    out[name] = state;
  }
  return out;
}

function compileMap(
  name: string,
  state: AslState,
  Machine: StateMachineClass,
  mapStates: Set<string>,
): { spec: MapSpec; task: AslState } {
  const refuse = (why: string): never => {
    throw new ConfigError(`Map state ${name}: ${why}`);
  };
  if (state.QueryLanguage === 'JSONata') refuse('JSONata does not run locally (use JSONPath)');
  for (const field of UNSUPPORTED_MAP_FIELDS) if (field in state) refuse(`${field} does not run locally`);
  const parsed = MapFieldsSchema.safeParse(state);
  if (!parsed.success) {
    refuse(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const f = parsed.data as z.infer<typeof MapFieldsSchema>;
  const processor = f.ItemProcessor ?? f.Iterator ?? refuse('has no ItemProcessor');
  const mode = f.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED' ? 'DISTRIBUTED' : 'INLINE';
  if (f.ItemReader && mode !== 'DISTRIBUTED') refuse('an ItemReader needs a DISTRIBUTED item processor');
  if (f.ItemReader && f.ItemsPath) refuse('ItemsPath does not go with an ItemReader');
  const both = (a: unknown, b: unknown, what: string) =>
    a !== undefined && b !== undefined && refuse(`${what} and ${what}Path together`);
  both(f.MaxConcurrency, f.MaxConcurrencyPath, 'MaxConcurrency');
  both(f.ToleratedFailurePercentage, f.ToleratedFailurePercentagePath, 'ToleratedFailurePercentage');
  both(f.ToleratedFailureCount, f.ToleratedFailureCountPath, 'ToleratedFailureCount');

  // What the library evaluates for the engine's Map, with the Map's effective input and context.
  const template: Record<string, unknown> = { 'input.$': '$', 'context.$': '$$' };
  if (f.ItemReader) {
    template.reader = f.ItemReader.Parameters;
    if (f.ItemReader.ReaderConfig.MaxItemsPath)
      template['maxItems.$'] = f.ItemReader.ReaderConfig.MaxItemsPath;
  } else {
    template['items.$'] = f.ItemsPath ?? '$';
  }
  if (f.MaxConcurrencyPath) template['maxConcurrency.$'] = f.MaxConcurrencyPath;
  if (f.ToleratedFailurePercentagePath)
    template['toleratedFailurePercentage.$'] = f.ToleratedFailurePercentagePath;
  if (f.ToleratedFailureCountPath) template['toleratedFailureCount.$'] = f.ToleratedFailureCountPath;

  const kept = Object.fromEntries(Object.entries(state).filter(([k]) => !MAP_ONLY_FIELDS.has(k)));
  const task: AslState = {
    ...kept,
    Type: 'Task',
    Resource: LOCAL_MAP_RESOURCE,
    Parameters: template,
    TimeoutSeconds: NO_TIMEOUT_SECONDS,
  };
  const { ProcessorConfig: _config, ...processorStates } = processor as AslDefinition & {
    ProcessorConfig?: unknown;
  };
  const selectorTemplate = f.ItemSelector ?? f.Parameters;
  const spec: MapSpec = {
    state: name,
    mode,
    label: f.Label ?? name,
    processor: compileMachine(processorStates, Machine, mapStates),
    ...(selectorTemplate
      ? {
          selector: new Machine(
            {
              StartAt: 'ItemSelector',
              States: { ItemSelector: { Type: 'Pass', Parameters: selectorTemplate, End: true } },
            } as unknown as StateMachineDefinition,
            { validationOptions: { noValidate: true } },
          ),
        }
      : {}),
    ...(f.ItemReader
      ? { reader: f.ItemReader.ReaderConfig.MaxItems ? { maxItems: f.ItemReader.ReaderConfig.MaxItems } : {} }
      : {}),
    ...(f.MaxConcurrency === undefined ? {} : { maxConcurrency: f.MaxConcurrency }),
    ...(f.ToleratedFailurePercentage === undefined
      ? {}
      : { toleratedFailurePercentage: f.ToleratedFailurePercentage }),
    ...(f.ToleratedFailureCount === undefined ? {} : { toleratedFailureCount: f.ToleratedFailureCount }),
    tolerates: [
      f.ToleratedFailurePercentage,
      f.ToleratedFailurePercentagePath,
      f.ToleratedFailureCount,
      f.ToleratedFailureCountPath,
    ].some((v) => v !== undefined),
  };
  return { spec, task };
}

/** An error as the States language names it (`States.TaskFailed`): `name` is the error, `message` the cause. */
export function statesError(error: string, cause: string): Error {
  return Object.assign(new Error(cause), { name: error });
}

/** What the compiled Map Task's Parameters evaluate to (see compileMap). */
const MapArgumentsSchema = z.object({
  input: z.unknown(),
  context: z.record(z.string(), z.unknown()),
  items: z.unknown().optional(),
  reader: z
    .object({ Bucket: z.string().min(1), Key: z.string().min(1) })
    .passthrough()
    .optional(),
  maxItems: z.number().int().positive().optional(),
  maxConcurrency: z.number().int().nonnegative().optional(),
  toleratedFailurePercentage: z.number().min(0).max(100).optional(),
  toleratedFailureCount: z.number().int().nonnegative().optional(),
});

type MapEvent = Omit<HistoryEvent, 'id' | 'previousEventId' | 'timestamp'>;

/** Why a Map's iterations (and what they started) are being stopped, as StopExecution's error and cause. */
export interface StopCause {
  readonly error: string;
  readonly cause: string;
}

export interface MapRunEnv {
  /** The workflow running the Map, for the Map Run's ARN. */
  readonly workflow: string;
  /** Records an event in the execution's history (a no-op inside a Distributed Map's iteration). */
  readonly record: (event: MapEvent) => void;
  /** Aborted when the execution (or the iteration holding this Map) stops: launch nothing more. */
  readonly signal: AbortSignal;
  /** The text of the object an ItemReader names. */
  readonly readObject: (bucket: string, key: string) => Promise<string>;
  /**
   * Runs the item processor for one item; settles only once everything the iteration started has
   * ended (children stopped, when `signal` aborts). `context` is the iteration's context object.
   */
  readonly iterate: (
    index: number,
    input: Json,
    signal: AbortSignal,
    context: Record<string, unknown>,
  ) => Promise<Json>;
}

/** As Step Functions words a Map Run that failed on its tolerance. */
const THRESHOLD_ERROR = 'States.ExceedToleratedFailureThreshold';

/**
 * Runs a (compiled) Map state as Step Functions does, given what its Task's Parameters evaluated
 * to. Items come from ItemsPath, or from an ItemReader: a JSON array in an object (`readObject`),
 * at most MaxItems of them. Each goes through the ItemSelector, with `$$.Map.Item.Index` and
 * `.Value` in the context, and then through the item processor (`env.iterate`), at most
 * MaxConcurrency(Path) at a time (0 or none: all at once). The result is the iterations' outputs
 * in item order.
 *
 * Failures: with a ToleratedFailureCount(Path) and/or ToleratedFailurePercentage(Path), the Map
 * fails with States.ExceedToleratedFailureThreshold as soon as more items failed than the count, or
 * a larger share of all items than the percentage (either one, when both are given); until then a
 * failed item's result is `{Error, Cause}`. A Distributed Map with neither tolerates no failure (the
 * same error at the first one); an Inline Map with neither fails with the failed iteration's own
 * error, as on AWS. When the Map fails, or `env.signal` aborts (the execution is stopped), no item
 * is launched any more and the iterations in flight are aborted; the Map settles once they have.
 *
 * History: an Inline Map records MapStateStarted (with the item count), MapIterationStarted and
 * MapIterationSucceeded/Failed/Aborted around each iteration (whose own events the engine records
 * between them), and MapStateSucceeded/Failed/Aborted; a Distributed Map records MapRunStarted (with
 * the Map Run's ARN) and MapRunSucceeded/Failed/Aborted only, as its iterations' events belong to
 * their own executions. MapStateEntered/Exited come from the library's state events.
 */
export async function runMap(spec: MapSpec, raw: unknown, env: MapRunEnv): Promise<Json[]> {
  const parsed = MapArgumentsSchema.safeParse(raw);
  if (!parsed.success) {
    throw statesError(
      'States.Runtime',
      `Map state ${spec.state}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const args = parsed.data;
  const distributed = spec.mode === 'DISTRIBUTED';
  const context = args.context;
  const parentMachine = (context.StateMachine as { Id?: string } | undefined)?.Id;
  const mapRunArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:mapRun:${env.workflow}/${spec.label}:${randomUUID()}`;
  if (distributed) env.record({ type: 'MapRunStarted', mapRunStartedEventDetails: { mapRunArn } });

  const fail = (error: string, cause: string): never => {
    env.record(
      distributed
        ? { type: 'MapRunFailed', mapRunFailedEventDetails: { error, cause } }
        : { type: 'MapStateFailed' },
    );
    throw statesError(error, cause);
  };

  let items: unknown = args.items;
  if (spec.reader) {
    const { Bucket, Key } =
      args.reader ?? fail('States.ItemReaderFailed', 'the ItemReader names no Bucket and Key');
    let text: string;
    try {
      text = await env.readObject(Bucket, Key);
    } catch (error) {
      return fail(
        'States.ItemReaderFailed',
        `could not read s3://${Bucket}/${Key}: ${(error as Error).message}`,
      );
    }
    try {
      items = JSON.parse(text);
    } catch {
      return fail('States.ItemReaderFailed', `s3://${Bucket}/${Key} is not JSON`);
    }
    if (!Array.isArray(items))
      fail('States.ItemReaderFailed', `s3://${Bucket}/${Key} does not hold a JSON array`);
  }
  if (!Array.isArray(items)) {
    return fail('States.Runtime', `Map state ${spec.state}: ItemsPath does not select an array`);
  }
  const maxItems = args.maxItems ?? spec.reader?.maxItems;
  const all = (maxItems === undefined ? items : items.slice(0, maxItems)) as Json[];
  if (!distributed)
    env.record({ type: 'MapStateStarted', mapStateStartedEventDetails: { length: all.length } });

  const limit = (args.maxConcurrency ?? spec.maxConcurrency ?? 0) || Number.POSITIVE_INFINITY;
  const count = args.toleratedFailureCount ?? spec.toleratedFailureCount;
  const percentage = args.toleratedFailurePercentage ?? spec.toleratedFailurePercentage;
  const thresholdApplies = distributed || spec.tolerates;
  const exceeded = (failed: number) =>
    spec.tolerates
      ? (count !== undefined && failed > count) ||
        (percentage !== undefined && failed * 100 > percentage * all.length)
      : failed > 0;

  const stop = new AbortController();
  const onStopped = () => stop.abort(env.signal.reason);
  env.signal.addEventListener('abort', onStopped, { once: true });
  if (env.signal.aborted) onStopped();

  const results: Json[] = new Array(all.length).fill(null);
  let failed = 0;
  let failure: StopCause | undefined;
  const failWith = (f: StopCause) => {
    failure ??= f;
    stop.abort({
      error: f.error,
      cause: `the ${distributed ? 'Map Run' : 'Map state'} ${spec.state} failed: ${f.cause}`,
    });
  };
  const iterationContext = (): Record<string, unknown> => {
    if (!distributed) return context;
    // A Distributed Map's iteration is a child workflow execution of the Map Run on AWS.
    const id = randomUUID();
    return {
      ...context,
      Execution: {
        ...(context.Execution as Record<string, unknown>),
        Id: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${env.workflow}/${spec.label}:${id}`,
        Name: id,
      },
      StateMachine: {
        Id: `${parentMachine ?? env.workflow}/${spec.label}`,
        Name: `${env.workflow}/${spec.label}`,
      },
    };
  };

  const inFlight = new Map<number, Promise<void>>();
  const launch = (index: number) => {
    const item = all[index] as Json;
    const iteration = async () => {
      let input: Json;
      try {
        input = spec.selector ? await select(spec.selector, args.input as Json, context, index, item) : item;
      } catch (error) {
        // An ItemSelector that cannot be evaluated fails the Map, not the item.
        const e = error as Error;
        failWith({ error: e.name, cause: e.message });
        return;
      }
      const details = { name: spec.state, index };
      if (!distributed) env.record({ type: 'MapIterationStarted', mapIterationStartedEventDetails: details });
      try {
        results[index] = await env.iterate(index, input, stop.signal, iterationContext());
        if (!distributed)
          env.record({ type: 'MapIterationSucceeded', mapIterationSucceededEventDetails: details });
      } catch (error) {
        if (stop.signal.aborted) {
          if (!distributed)
            env.record({ type: 'MapIterationAborted', mapIterationAbortedEventDetails: details });
          return;
        }
        const e = error as Error;
        if (!distributed) env.record({ type: 'MapIterationFailed', mapIterationFailedEventDetails: details });
        failed += 1;
        results[index] = { Error: e.name, Cause: e.message };
        if (!thresholdApplies) failWith({ error: e.name, cause: e.message });
        else if (exceeded(failed)) {
          failWith({
            error: THRESHOLD_ERROR,
            cause: `The specified tolerated failure threshold was exceeded: ${failed} of ${all.length} items failed`,
          });
        }
      }
    };
    inFlight.set(
      index,
      iteration().finally(() => inFlight.delete(index)),
    );
  };

  try {
    let next = 0;
    for (;;) {
      while (!stop.signal.aborted && inFlight.size < limit && next < all.length) launch(next++);
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
  } finally {
    env.signal.removeEventListener('abort', onStopped);
  }
  if (failure) return fail(failure.error, failure.cause);
  if (env.signal.aborted) {
    env.record(distributed ? { type: 'MapRunAborted' } : { type: 'MapStateAborted' });
    const reason = env.signal.reason as StopCause | undefined;
    throw statesError(reason?.error ?? 'States.Aborted', reason?.cause ?? 'the execution was stopped');
  }
  env.record(distributed ? { type: 'MapRunSucceeded' } : { type: 'MapStateSucceeded' });
  return results;
}

/** The ItemSelector for one item, evaluated by the library (a Pass state) with `$$.Map.Item` set. */
async function select(
  selector: StateMachine,
  input: Json,
  context: Record<string, unknown>,
  index: number,
  item: Json,
): Promise<Json> {
  const run = selector.run(input, { context: { ...context, Map: { Item: { Index: index, Value: item } } } });
  try {
    return (await run.result) as Json;
  } catch (error) {
    throw (error as { cause?: unknown }).cause ?? error;
  }
}
