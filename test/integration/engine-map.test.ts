import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord, LocalEngine } from '../../local/engine';
import { LocalFolderStore } from '../../shared/blobs/local';
import type { HistoryEvent } from '../../shared/progress';
import type { AslDefinition } from '../../statemachine/workflows';
import { mapProbe, resetMapProbe } from '../fixtures/map/child-handler';
import { fixtureAsl, MAP_CHILD, MAP_PARENT } from '../fixtures/map/workflows';
import { type TestDatabase, testBackends } from '../support/databases';
import { expectContiguous } from '../support/processes';
import { engineFor } from '../support/provisioning';
import { tempDir } from '../support/temp-dirs';

/**
 * The local engine's Map state, as the fleet rollout uses it: a Distributed Map whose item
 * processor starts a child execution per tenant with startExecution.sync:2 and waits for it
 * (test/fixtures/map: MapParent and MapChild, whose step holds, fails or succeeds as the item says).
 */

type Item = { tenantId: string; hold?: boolean; fail?: boolean };
type WaveState = Record<string, unknown> & {
  ItemProcessor: { ProcessorConfig: Record<string, unknown> };
};

/** MapParent's definition with its Map state (`Wave`) edited. */
function parentWith(edit: (wave: WaveState) => void = () => {}): AslDefinition {
  const asl = fixtureAsl(MAP_PARENT);
  edit(asl.States.Wave as WaveState);
  return asl;
}

const items = (prefix: string, n: number, extra: (i: number) => Partial<Item> = () => ({})): Item[] =>
  Array.from({ length: n }, (_, i) => ({ tenantId: `${prefix}-${i}`, ...extra(i) }));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe.each(testBackends())('Map states on the local engine, on $name', (backend) => {
  let t: TestDatabase;
  let blobs: LocalFolderStore;
  beforeAll(async () => {
    t = await backend.open();
    blobs = new LocalFolderStore(tempDir('tenantry-map-'));
  });
  afterAll(() => t?.close());
  // A held child never outlives its test.
  afterEach(() => mapProbe().open());

  /** A fresh engine running MapParent as `parent` gives it. */
  function engine(parent: AslDefinition = parentWith()): LocalEngine {
    return engineFor(t.db, {
      definitions: { MapParent: parent, MapChild: fixtureAsl(MAP_CHILD) },
      workflows: [MAP_CHILD],
      blobStore: () => blobs,
    });
  }
  let waves = 0;
  /** Starts MapParent as wave number `wave` (its tenant key; every child's input carries it). */
  async function startParent(e: LocalEngine, input: Record<string, unknown>, wave = ++waves) {
    return { wave, run: await e.start(MAP_PARENT, `wave-${wave}`, { wave, ...input }) };
  }
  async function runParent(e: LocalEngine, input: Record<string, unknown>) {
    const { wave, run } = await startParent(e, input);
    return { wave, record: await run.done };
  }

  /** The MapChild executions of a wave, oldest first. */
  const children = async (wave: number): Promise<ExecutionRecord[]> => {
    const { rows } = await t.db.query<{ execution_id: string }>(
      `SELECT execution_id FROM tenantry.executions
        WHERE workflow = 'MapChild' AND (input->>'wave')::int = $1 ORDER BY started_at, execution_id`,
      [wave],
    );
    const reader = engine();
    const records = await Promise.all(rows.map((r) => reader.describe(r.execution_id)));
    return records.filter((r): r is ExecutionRecord => r !== undefined);
  };
  const running = async () =>
    (await t.db.query("SELECT execution_id FROM tenantry.executions WHERE status = 'RUNNING'")).rows;
  const types = (history: readonly HistoryEvent[]) => history.map((h) => h.type);

  it('runs each item as a recorded child execution, never more than MaxConcurrency at once', async () => {
    const probe = resetMapProbe();
    const e = engine(parentWith());
    const wave = items('conc', 7, () => ({ hold: true }));
    const { wave: number, run } = await startParent(e, { items: wave });
    await until('three children in flight', () => probe.inFlight === 3);
    // Held for a while: no fourth item starts while three are in flight.
    await sleep(400);
    expect(probe.started).toHaveLength(3);
    expect(await running()).toHaveLength(4); // the parent and its three children
    probe.open();
    const record = await run.done;

    expect(record.status).toBe('SUCCEEDED');
    expect(probe.maxInFlight).toBe(3);
    expect(probe.started.toSorted()).toEqual(wave.map((i) => i.tenantId).toSorted());
    const results = (
      record.output as { results: { tenantId: string; executionArn: string; status: string }[] }
    ).results;
    // Item order, whatever order they finished in.
    expect(results.map((r) => r.tenantId)).toEqual(wave.map((i) => i.tenantId));
    expect(results.every((r) => r.status === 'SUCCEEDED')).toBe(true);

    // Every child is an execution of its own, with its tenant, history and no lease left.
    const kids = await children(number);
    expect(kids.map((k) => k.executionId).toSorted()).toEqual(results.map((r) => r.executionArn).toSorted());
    for (const kid of kids) {
      expect(kid).toMatchObject({ workflow: 'MapChild', status: 'SUCCEEDED' });
      expect(kid.tenantId).toBe((kid.input as { tenantId: string }).tenantId);
      // $$.Execution.Id in a Distributed Map's iteration: the iteration's own (child workflow) execution.
      expect(
        (kid.input as { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: string })
          .AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID,
      ).toMatch(/^arn:aws:states:us-east-1:000000000000:execution:MapParent\/Wave:[0-9a-f-]{36}$/);
      const history = await e.history(kid.executionId);
      expectContiguous(history);
      expect(types(history).at(-1)).toBe('ExecutionSucceeded');
    }
    expect((await t.db.query('SELECT 1 FROM tenantry.execution_leases')).rows).toEqual([]);

    // The parent's history: the Map Run's events, not its iterations'.
    const history = await e.history(record.executionId);
    expectContiguous(history);
    expect(types(history)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapRunStarted',
      'MapRunSucceeded',
      'MapStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(history[2]?.mapRunStartedEventDetails?.mapRunArn).toMatch(
      /^arn:aws:states:us-east-1:000000000000:mapRun:MapParent\/Wave:[0-9a-f-]{36}$/,
    );
  });

  it('takes MaxConcurrency 0 as no bound, and MaxConcurrencyPath from the input', async () => {
    const unbounded = resetMapProbe();
    const { run: all } = await startParent(
      engine(
        parentWith((w) => {
          w.MaxConcurrency = 0;
        }),
      ),
      { items: items('zero', 6, () => ({ hold: true })) },
    );
    await until('all six in flight', () => unbounded.inFlight === 6);
    unbounded.open();
    expect((await all.done).status).toBe('SUCCEEDED');

    const bounded = resetMapProbe();
    const { run: two } = await startParent(
      engine(
        parentWith((w) => {
          delete w.MaxConcurrency;
          w.MaxConcurrencyPath = '$.concurrency';
        }),
      ),
      { items: items('path', 5, () => ({ hold: true })), concurrency: 2 },
    );
    await until('two in flight', () => bounded.inFlight === 2);
    await sleep(300);
    expect(bounded.started).toHaveLength(2);
    bounded.open();
    expect((await two.done).status).toBe('SUCCEEDED');
    expect(bounded.maxInFlight).toBe(2);
  });

  it('tolerates failures up to ToleratedFailureCount, and fails the Map one failure over it', async () => {
    // Two of six fail; one at a time, so the launches after the Map fails can be counted.
    const wave = items('count', 6, (i) => ({ fail: i === 1 || i === 3 }));
    const tolerant = parentWith((w) => {
      w.MaxConcurrency = 1;
      w.ToleratedFailureCount = 2;
    });
    resetMapProbe();
    const { record: passed } = await runParent(engine(tolerant), { items: wave });
    expect(passed.status).toBe('SUCCEEDED');
    const results = (passed.output as { results: Record<string, unknown>[] }).results;
    expect(results.map((r) => (r.Error ? 'failed' : r.status))).toEqual([
      'SUCCEEDED',
      'failed',
      'SUCCEEDED',
      'failed',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
    // A failed item's result is its error, as the .sync:2 task failed with it.
    const failure = results[1] as { Error: string; Cause: string };
    expect(failure.Error).toBe('States.TaskFailed');
    expect(JSON.parse(failure.Cause)).toMatchObject({
      Status: 'FAILED',
      Error: 'ItemFailedError',
      StateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:tenantry-MapChild',
    });
    expect(JSON.parse(JSON.parse(failure.Cause).Cause)).toMatchObject({
      errorType: 'ItemFailedError',
      errorMessage: 'item count-1 failed as asked',
    });

    const strict = parentWith((w) => {
      w.MaxConcurrency = 1;
      w.ToleratedFailureCount = 1;
    });
    resetMapProbe();
    const e = engine(strict);
    const { wave: number, record: failed } = await runParent(e, { items: wave });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    // The second failure (item 3) failed the Map: items 4 and 5 were never started.
    expect(mapProbe().started).toEqual(['count-0', 'count-1', 'count-2', 'count-3']);
    expect(await children(number)).toHaveLength(4);
    const history = await e.history(failed.executionId);
    expect(types(history)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapRunStarted',
      'MapRunFailed',
      'ExecutionFailed',
    ]);
    expect(history[3]?.mapRunFailedEventDetails).toMatchObject({
      error: 'States.ExceedToleratedFailureThreshold',
      cause: expect.stringContaining('2 of 6 items failed'),
    });
    expect(await running()).toEqual([]);
  });

  it('tolerates failures up to ToleratedFailurePercentage(Path), and fails the Map just over it', async () => {
    // One of five fails: 20 %.
    const wave = items('pct', 5, (i) => ({ fail: i === 2 }));
    const byPath = parentWith((w) => {
      w.ToleratedFailurePercentagePath = '$.tolerance';
    });
    resetMapProbe();
    const { record: passed } = await runParent(engine(byPath), { items: wave, tolerance: 20 });
    expect(passed.status).toBe('SUCCEEDED');
    expect((passed.output as { results: { Error?: string }[] }).results.filter((r) => r.Error)).toHaveLength(
      1,
    );

    resetMapProbe();
    const { record: failed } = await runParent(engine(byPath), { items: wave, tolerance: 19.5 });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });

    resetMapProbe();
    const fixed = parentWith((w) => {
      w.ToleratedFailurePercentage = 19;
    });
    const { record: alsoFailed } = await runParent(engine(fixed), { items: wave });
    expect(alsoFailed).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    expect(await running()).toEqual([]);
  });

  it("tolerates no failure in a Distributed Map without a tolerance; a Catch takes the Map's error", async () => {
    resetMapProbe();
    const wave = items('none', 3, (i) => ({ fail: i === 0 }));
    const { record: failed } = await runParent(engine(), { items: wave });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    expect(await running()).toEqual([]);

    resetMapProbe();
    const caught = parentWith((w) => {
      w.Catch = [
        {
          ErrorEquals: ['States.ExceedToleratedFailureThreshold'],
          ResultPath: '$.failure',
          Next: 'WaveDone',
        },
      ];
    });
    const e = engine(caught);
    const { record } = await runParent(e, { items: wave });
    expect(record.status).toBe('SUCCEEDED');
    expect((record.output as { failure: unknown }).failure).toEqual({
      Error: 'States.ExceedToleratedFailureThreshold',
      Cause: expect.stringContaining('1 of 3 items failed'),
    });
    expect(types(await e.history(record.executionId))).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapRunStarted',
      'MapRunFailed',
      'MapStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
  });

  it('reads the items of an ItemReader from the blob store, at most MaxItems of them', async () => {
    await blobs.put('rollouts/wave-a.json', JSON.stringify(items('reader', 4)), {
      contentType: 'application/json',
      retention: 'expire',
    });
    const fromBlob = parentWith((w) => {
      delete w.ItemsPath;
      w.ItemReader = {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON', MaxItems: 3 },
        Parameters: { Bucket: 'tenantry-rollouts', 'Key.$': '$.key' },
      };
    });
    const probe = resetMapProbe();
    const { record } = await runParent(engine(fromBlob), { key: 'rollouts/wave-a.json' });
    expect(record.status).toBe('SUCCEEDED');
    expect((record.output as { results: { tenantId: string }[] }).results.map((r) => r.tenantId)).toEqual([
      'reader-0',
      'reader-1',
      'reader-2',
    ]);
    expect(probe.started.toSorted()).toEqual(['reader-0', 'reader-1', 'reader-2']);

    const { record: missing } = await runParent(engine(fromBlob), { key: 'rollouts/none.json' });
    expect(missing).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
  });

  it('fails an Inline Map with the States.TaskFailed of a failed child, its iterations in the history', async () => {
    resetMapProbe();
    const inline = parentWith((w) => {
      w.ItemProcessor.ProcessorConfig = { Mode: 'INLINE' };
      w.MaxConcurrency = 1;
    });
    const e = engine(inline);
    const { record } = await runParent(e, { items: items('inline', 3, (i) => ({ fail: i === 1 })) });
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('States.TaskFailed');
    const cause = JSON.parse(record.cause ?? '{}');
    expect(cause).toMatchObject({ Status: 'FAILED', Error: 'ItemFailedError', Name: expect.any(String) });
    const child = await e.describe(cause.ExecutionArn);
    expect(child).toMatchObject({ status: 'FAILED', error: 'ItemFailedError', tenantId: 'inline-1' });

    const history = await e.history(record.executionId);
    expectContiguous(history);
    const iteration = ['TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted'];
    expect(types(history)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapStateStarted',
      'MapIterationStarted',
      ...iteration,
      'TaskSucceeded',
      'TaskStateExited',
      'MapIterationSucceeded',
      'MapIterationStarted',
      ...iteration,
      'TaskFailed',
      'MapIterationFailed',
      'MapStateFailed',
      'ExecutionFailed',
    ]);
    expect(history[2]?.mapStateStartedEventDetails).toEqual({ length: 3 });
    expect(history[3]?.mapIterationStartedEventDetails).toEqual({ name: 'Wave', index: 0 });
    // What .sync:2 returns: DescribeExecution's shape, Output as JSON, dates in epoch ms.
    const succeeded = history.find((h) => h.type === 'TaskSucceeded');
    expect(succeeded?.taskSucceededEventDetails?.resource).toBe('startExecution.sync:2');
    const output = JSON.parse(succeeded?.taskSucceededEventDetails?.output ?? '{}');
    expect(output).toMatchObject({
      ExecutionArn: expect.stringMatching(/:execution:MapChild:inline-0-/),
      StateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:tenantry-MapChild',
      Status: 'SUCCEEDED',
      Output: { tenantId: 'inline-0', index: 0 },
      StartDate: expect.any(Number),
      StopDate: expect.any(Number),
    });
    expect(JSON.parse(output.Input)).toMatchObject({ tenantId: 'inline-0' });
    expect(history.find((h) => h.type === 'TaskFailed')?.taskFailedEventDetails?.error).toBe(
      'States.TaskFailed',
    );
    // Item 2 was never started: the first failure failed the Map.
    expect(mapProbe().started).toEqual(['inline-0', 'inline-1']);
  });

  it('stops launching items when the parent is stopped, and stops the children in flight with it', async () => {
    const probe = resetMapProbe();
    const e = engine(
      parentWith((w) => {
        w.MaxConcurrency = 2;
      }),
    );
    const { wave, run } = await startParent(e, { items: items('stop', 6, () => ({ hold: true })) });
    await until('two children in flight', () => probe.inFlight === 2);
    const stopped = await e.stop(run.executionId, {
      error: 'RolloutCancelled',
      cause: 'stopped by the test',
    });
    expect(stopped).toMatchObject({ status: 'ABORTED', error: 'RolloutCancelled' });
    // Once stop() has returned, nothing of it runs any more.
    expect(await running()).toEqual([]);
    const kids = await children(wave);
    expect(kids).toHaveLength(2);
    for (const kid of kids) {
      expect(kid).toMatchObject({ status: 'ABORTED', error: 'RolloutCancelled' });
      expect(kid.cause).toContain(run.executionId);
      expect(types(await e.history(kid.executionId)).at(-1)).toBe('ExecutionAborted');
    }
    // The held steps finish now; their results are dropped, and no other item starts.
    probe.open();
    await sleep(300);
    expect(probe.started).toHaveLength(2);
    expect(await children(wave)).toHaveLength(2);
    const history = await e.history(run.executionId);
    expectContiguous(history);
    expect(types(history)).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapRunStarted',
      'ExecutionAborted',
    ]);
    expect((await t.db.query('SELECT 1 FROM tenantry.execution_leases')).rows).toEqual([]);
  });

  it('stops a child whose startExecution task timed out, and fails the task with States.Timeout', async () => {
    resetMapProbe();
    const timed = parentWith((w) => {
      w.ItemProcessor.ProcessorConfig = { Mode: 'INLINE' };
      const states = (w.ItemProcessor as unknown as { States: Record<string, Record<string, unknown>> })
        .States;
      (states.StartChild as Record<string, unknown>).TimeoutSeconds = 1;
    });
    const e = engine(timed);
    const { wave, record } = await runParent(e, { items: items('slow', 1, () => ({ hold: true })) });
    expect(record).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const [kid] = await children(wave);
    expect(kid).toMatchObject({ status: 'ABORTED', error: 'States.Timeout' });
    const history = await e.history(record.executionId);
    expect(history.find((h) => h.type === 'TaskTimedOut')?.taskTimedOutEventDetails).toMatchObject({
      resource: 'startExecution.sync:2',
      error: 'States.Timeout',
    });
    expect(await running()).toEqual([]);
  });

  it('joins a running child of the same name and input; a name or a tenant taken fails with ExecutionAlreadyExists', async () => {
    const probe = resetMapProbe();
    // Inline, so that the join shows in the parent's history (TaskSubmitted) before the gate opens.
    const named = parentWith((w) => {
      w.ItemProcessor.ProcessorConfig = { Mode: 'INLINE' };
      w.ToleratedFailurePercentage = 100;
      const states = (
        w.ItemProcessor as unknown as { States: Record<string, { Parameters: Record<string, unknown> }> }
      ).States;
      const start = states.StartChild as { Parameters: Record<string, unknown> };
      start.Parameters = {
        StateMachineArn: start.Parameters.StateMachineArn,
        Input: {
          'tenantId.$': '$.tenantId',
          'behaviour.$': '$.behaviour',
          'index.$': '$.index',
          'wave.$': '$.wave',
        },
        'Name.$': '$.tenantId',
      };
    });
    // Another process already runs the child the first item names (same input), and a child of the
    // second item's tenant under another name.
    const other = engineFor(t.db, { definitions: { MapChild: fixtureAsl(MAP_CHILD) } });
    const wave = ++waves;
    const joined = { tenantId: 'join-0', hold: true };
    const elsewhere = await other.start(
      MAP_CHILD,
      'join-0',
      { tenantId: 'join-0', behaviour: joined, index: 0, wave },
      'join-0',
    );
    const busy = await other.start(
      MAP_CHILD,
      'busy-1',
      { tenantId: 'busy-1', behaviour: { hold: true } },
      'busy-1-x',
    );
    await until('both held', () => probe.inFlight === 2);

    const e = engine(named);
    const { run } = await startParent(e, { items: [joined, { tenantId: 'busy-1' }] }, wave);
    const submitted: HistoryEvent[] = [];
    run.events.on('event', (event: HistoryEvent) => {
      if (event.type === 'TaskSubmitted') submitted.push(event);
    });
    await until('the join', () => submitted.length === 1);
    // The parent waits on the joined child; it starts no child of its own.
    await sleep(200);
    expect(JSON.parse(submitted[0]?.taskSubmittedEventDetails?.output ?? '{}').ExecutionArn).toBe(
      elsewhere.executionId,
    );
    expect(probe.started).toEqual(['join-0', 'busy-1']);
    probe.open();
    const record = await run.done;
    expect(record.status).toBe('SUCCEEDED');
    const results = (record.output as { results: Record<string, string>[] }).results;
    expect(results[0]).toEqual({
      tenantId: 'join-0',
      executionArn: elsewhere.executionId,
      status: 'SUCCEEDED',
    });
    expect(results[1]).toMatchObject({
      Error: 'StepFunctions.ExecutionAlreadyExistsException',
      Cause: expect.stringContaining(busy.executionId),
    });
    expect(await children(wave)).toHaveLength(1);

    // Once closed, the name is taken for good.
    const { record: again } = await runParent(e, { items: [{ tenantId: 'join-0' }] });
    expect((again.output as { results: Record<string, string>[] }).results[0]).toMatchObject({
      Error: 'StepFunctions.ExecutionAlreadyExistsException',
      Cause: `Execution Already Exists: '${elsewhere.executionId}'`,
    });
    await busy.done;
  });

  it('refuses a definition it cannot run as Step Functions would', async () => {
    const withWriter = parentWith((w) => {
      w.ResultWriter = {
        Resource: 'arn:aws:states:::s3:putObject',
        Parameters: { Bucket: 'b', Prefix: 'p' },
      };
    });
    await expect(startParent(engine(withWriter), { items: [] })).rejects.toThrow(
      /ResultWriter does not run locally/,
    );
    const inlineReader = parentWith((w) => {
      w.ItemProcessor.ProcessorConfig = { Mode: 'INLINE' };
      delete w.ItemsPath;
      w.ItemReader = {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { Bucket: 'b', Key: 'k' },
      };
    });
    await expect(startParent(engine(inlineReader), { items: [] })).rejects.toThrow(/needs a DISTRIBUTED/);
  });
});
