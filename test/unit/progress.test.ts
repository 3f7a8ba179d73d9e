import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type HistoryEvent, stepsFromHistory } from '../../shared/progress';

const STEPS = [
  'Validate',
  'CreateSchema',
  'SyncTables',
  'CreateIndexes',
  'Seed',
  'Verify',
  'Register',
  'Cleanup',
];

function fixture(name: string): HistoryEvent[] {
  // A fresh copy per test: tests may edit it.
  return JSON.parse(readFileSync(new URL(`../events/${name}`, import.meta.url), 'utf8')) as HistoryEvent[];
}

describe('stepsFromHistory', () => {
  it('maps a failed, caught run: retries, warnings, the failed step, skipped steps and Cleanup', () => {
    const progress = stepsFromHistory(STEPS, fixture('provision-history-caught.json'));
    expect(progress.status).toBe('FAILED');
    expect(progress.error).toEqual({
      error: 'DatabaseError',
      cause: 'duplicate key value violates unique constraint',
    });
    const byName = Object.fromEntries(progress.steps.map((s) => [s.name, s]));
    expect(byName.Validate).toMatchObject({ status: 'succeeded', attempts: 1, durationMs: 130 });
    expect(byName.CreateIndexes).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(byName.CreateIndexes?.warnings).toEqual([`index idx_documents_status: column "x" does not exist`]);
    expect(byName.Seed).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { error: 'DatabaseError', cause: 'duplicate key value violates unique constraint' },
      endedAt: '2026-11-23T10:00:02.630Z',
    });
    expect(byName.Cleanup?.status).toBe('succeeded');
    expect(['CreateSchema', 'SyncTables', 'Verify', 'Register'].map((n) => byName[n]?.status)).toEqual([
      'skipped',
      'skipped',
      'skipped',
      'skipped',
    ]);
  });

  it('shows a step waiting for its next attempt as retrying, and later steps as pending', () => {
    const running = fixture('provision-history-caught.json').slice(0, 10);
    const progress = stepsFromHistory(STEPS, running);
    expect(progress.status).toBe('RUNNING');
    const indexes = progress.steps.find((s) => s.name === 'CreateIndexes');
    expect(indexes).toMatchObject({
      status: 'retrying',
      attempts: 1,
      error: { error: 'TransientDatabaseError' },
    });
    expect(indexes?.error?.cause).toBe('DatabaseResumingException');
    expect(progress.steps.find((s) => s.name === 'Seed')?.status).toBe('pending');
  });

  it('shows a step failed at once, never retrying, when its error is one the workflow does not retry', () => {
    const events = fixture('provision-history-caught.json');
    const seedFailed = events.findIndex(
      (e) => e.type === 'TaskFailed' && e.taskFailedEventDetails?.error === 'DatabaseError',
    );
    expect(seedFailed).toBeGreaterThan(0);
    // Between the permanent failure and the Catch's next state: failed already, not retrying.
    const seed = stepsFromHistory(STEPS, events.slice(0, seedFailed + 1)).steps.find(
      (s) => s.name === 'Seed',
    );
    expect(seed).toMatchObject({ status: 'failed', error: { error: 'DatabaseError' } });
    expect(seed?.endedAt).toBeUndefined();
    // Its run goes on to Cleanup: the step keeps its failure and gets its end.
    const later = stepsFromHistory(STEPS, events).steps.find((s) => s.name === 'Seed');
    expect(later).toMatchObject({ status: 'failed', endedAt: '2026-11-23T10:00:02.630Z' });
  });

  it('treats a TaskStateExited after a caught failure as the failure of that step', () => {
    const events = fixture('provision-history-caught.json');
    const exited: HistoryEvent = {
      id: 18.5,
      timestamp: '2026-11-23T10:00:02.625Z',
      type: 'TaskStateExited',
      stateExitedEventDetails: { name: 'Seed', output: '{}' },
    };
    events.splice(18, 0, exited);
    const seed = stepsFromHistory(STEPS, events).steps.find((s) => s.name === 'Seed');
    expect(seed).toMatchObject({ status: 'failed', endedAt: '2026-11-23T10:00:02.625Z' });
  });

  it('marks running and unreached steps cancelled when the execution is aborted', () => {
    const events = fixture('provision-history-caught.json').slice(0, 9);
    events.push({ id: 10, timestamp: '2026-11-23T10:00:01.000Z', type: 'ExecutionAborted' });
    const progress = stepsFromHistory(STEPS, events);
    expect(progress.status).toBe('ABORTED');
    expect(progress.steps.find((s) => s.name === 'CreateIndexes')?.status).toBe('cancelled');
    expect(progress.steps.find((s) => s.name === 'Register')?.status).toBe('cancelled');
  });

  it('counts a step the workflow enters again (Backup over several invocations) as one step with its invocations', () => {
    const at = (s: number) => `2026-11-30T10:00:0${s}.000Z`;
    const task = { resourceType: 'lambda', resource: 'invoke' };
    const raw: Omit<HistoryEvent, 'id'>[] = [
      {
        timestamp: at(0),
        type: 'TaskStateEntered',
        stateEnteredEventDetails: { name: 'Backup', input: '{}' },
      },
      {
        timestamp: at(0),
        type: 'TaskScheduled',
        taskScheduledEventDetails: { ...task, region: 'us-east-1', parameters: '{}' },
      },
      {
        timestamp: at(1),
        type: 'TaskSucceeded',
        taskSucceededEventDetails: { ...task, output: '{"Payload":{"done":false}}' },
      },
      {
        timestamp: at(1),
        type: 'TaskStateExited',
        stateExitedEventDetails: { name: 'Backup', output: '{}' },
      },
      {
        timestamp: at(1),
        type: 'ChoiceStateEntered',
        stateEnteredEventDetails: { name: 'BackupFinished', input: '{}' },
      },
      {
        timestamp: at(1),
        type: 'ChoiceStateExited',
        stateExitedEventDetails: { name: 'BackupFinished', output: '{}' },
      },
      {
        timestamp: at(2),
        type: 'TaskStateEntered',
        stateEnteredEventDetails: { name: 'Backup', input: '{}' },
      },
      {
        timestamp: at(2),
        type: 'TaskScheduled',
        taskScheduledEventDetails: { ...task, region: 'us-east-1', parameters: '{}' },
      },
      {
        timestamp: at(3),
        type: 'TaskFailed',
        taskFailedEventDetails: { ...task, error: 'TransientDatabaseError', cause: '{}' },
      },
      {
        timestamp: at(4),
        type: 'TaskScheduled',
        taskScheduledEventDetails: { ...task, region: 'us-east-1', parameters: '{}' },
      },
      {
        timestamp: at(5),
        type: 'TaskSucceeded',
        taskSucceededEventDetails: { ...task, output: '{"Payload":{"done":true}}' },
      },
      {
        timestamp: at(5),
        type: 'TaskStateExited',
        stateExitedEventDetails: { name: 'Backup', output: '{}' },
      },
    ];
    const events = raw.map((e, i) => ({ ...e, id: i + 1 }) as HistoryEvent);
    const backup = stepsFromHistory(['Validate', 'Backup'], events).steps.find((s) => s.name === 'Backup');
    expect(backup).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      invocations: 2,
      startedAt: at(0),
      endedAt: at(5),
      durationMs: 5000,
      output: { done: true },
    });
  });
  describe('with Map states', () => {
    const at = (s: number) => `2026-12-01T10:00:0${s}.000Z`;
    const task = { resourceType: 'states', resource: 'startExecution.sync:2' };
    const numbered = (raw: Omit<HistoryEvent, 'id'>[]): HistoryEvent[] =>
      raw.map((e, i) => ({ ...e, id: i + 1, previousEventId: i }));
    const iteration = (index: number, failed: boolean): Omit<HistoryEvent, 'id'>[] => [
      {
        timestamp: at(1),
        type: 'MapIterationStarted',
        mapIterationStartedEventDetails: { name: 'Wave', index },
      },
      {
        timestamp: at(1),
        type: 'TaskStateEntered',
        stateEnteredEventDetails: { name: 'StartChild', input: '{}' },
      },
      {
        timestamp: at(1),
        type: 'TaskScheduled',
        taskScheduledEventDetails: { ...task, region: 'us-east-1', parameters: '{}' },
      },
      { timestamp: at(2), type: 'TaskSubmitted', taskSubmittedEventDetails: { ...task, output: '{}' } },
      failed
        ? {
            timestamp: at(3),
            type: 'TaskFailed',
            taskFailedEventDetails: { ...task, error: 'States.TaskFailed', cause: '{}' },
          }
        : { timestamp: at(3), type: 'TaskSucceeded', taskSucceededEventDetails: { ...task, output: '{}' } },
      failed
        ? {
            timestamp: at(3),
            type: 'MapIterationFailed',
            mapIterationFailedEventDetails: { name: 'Wave', index },
          }
        : {
            timestamp: at(3),
            type: 'TaskStateExited',
            stateExitedEventDetails: { name: 'StartChild', output: '{}' },
          },
    ];

    it("does not take an Inline Map's iterations for steps, nor a failed iteration for the Map failing", () => {
      const history = numbered([
        { timestamp: at(0), type: 'ExecutionStarted' },
        {
          timestamp: at(0),
          type: 'MapStateEntered',
          stateEnteredEventDetails: { name: 'Wave', input: '{}' },
        },
        { timestamp: at(0), type: 'MapStateStarted', mapStateStartedEventDetails: { length: 2 } },
        ...iteration(0, false),
        ...iteration(1, true),
        { timestamp: at(4), type: 'MapStateSucceeded' },
        { timestamp: at(4), type: 'MapStateExited', stateExitedEventDetails: { name: 'Wave', output: '{}' } },
        {
          timestamp: at(5),
          type: 'TaskStateEntered',
          stateEnteredEventDetails: { name: 'Report', input: '{}' },
        },
      ]);
      // While its iterations run (one failed, tolerated), the Map is running.
      const during = stepsFromHistory(['Wave', 'Report'], history.slice(0, -3));
      expect(during.steps[0]).toMatchObject({ name: 'Wave', status: 'running', startedAt: at(0) });
      expect(during.steps[0]?.endedAt).toBeUndefined();
      const progress = stepsFromHistory(['Wave', 'Report'], history);
      expect(progress.status).toBe('RUNNING');
      expect(progress.steps).toEqual([
        expect.objectContaining({ name: 'Wave', status: 'succeeded', attempts: 0, endedAt: at(4) }),
        expect.objectContaining({ name: 'Report', status: 'running' }),
      ]);
      expect(progress.steps[0]?.error).toBeUndefined();
    });

    it('shows a Map whose Map Run failed and was caught as a failed step, with its error', () => {
      const progress = stepsFromHistory(
        ['Wave', 'Report'],
        numbered([
          { timestamp: at(0), type: 'ExecutionStarted' },
          {
            timestamp: at(0),
            type: 'MapStateEntered',
            stateEnteredEventDetails: { name: 'Wave', input: '{}' },
          },
          { timestamp: at(0), type: 'MapRunStarted', mapRunStartedEventDetails: { mapRunArn: 'arn' } },
          {
            timestamp: at(2),
            type: 'MapRunFailed',
            mapRunFailedEventDetails: {
              error: 'States.ExceedToleratedFailureThreshold',
              cause: '2 of 6 items failed',
            },
          },
          {
            timestamp: at(2),
            type: 'MapStateExited',
            stateExitedEventDetails: { name: 'Wave', output: '{}' },
          },
          { timestamp: at(3), type: 'ExecutionSucceeded' },
        ]),
      );
      expect(progress.steps[0]).toMatchObject({
        name: 'Wave',
        status: 'failed',
        error: { error: 'States.ExceedToleratedFailureThreshold', cause: '2 of 6 items failed' },
      });
      expect(progress.steps[1]?.status).toBe('skipped');
    });
  });
});
