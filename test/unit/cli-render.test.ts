import { describe, expect, it } from 'vitest';
import {
  describeStep,
  formatDuration,
  LiveView,
  type RolloutView,
  SPINNER,
  StepLines,
  type StepView,
  stepsFrame,
  wavesFrame,
} from '../../local/render';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function step(name: string, fields: Partial<StepView> = {}): StepView {
  return { name, status: 'pending', attempts: 0, warnings: [], ...fields };
}

/** A Provision run half way: Validate done, CreateSchema running for 1.5 s, the rest to come. */
const running = {
  status: 'RUNNING',
  startedAt: at(0),
  stoppedAt: null,
  steps: [
    step('Validate', {
      status: 'succeeded',
      attempts: 1,
      startedAt: at(0),
      endedAt: at(120),
      durationMs: 120,
    }),
    step('CreateSchema', { status: 'running', attempts: 1, startedAt: at(500) }),
    step('SyncTables'),
    step('Cleanup'),
  ],
};

describe('the live view of a run (a terminal)', () => {
  it('draws each step: done with its time, a spinner and the time so far on the running one', () => {
    const frame = stepsFrame(running, { now: T0 + 2000, tick: 3 });
    expect(frame).toEqual([
      '  ✓ Validate         120 ms',
      `  ${SPINNER[3]} CreateSchema      1.5 s`,
      '  · SyncTables',
      '  · Cleanup',
      `  ${SPINNER[3]} 2.0 s so far`,
    ]);
    // The next frame turns the spinner and counts on.
    expect(stepsFrame(running, { now: T0 + 2100, tick: 4 })[1]).toBe(
      `  ${SPINNER[4]} CreateSchema      1.6 s`,
    );
  });

  it('shows retrying only with the error the workflow retries, with the attempts so far', () => {
    const retrying = {
      ...running,
      steps: [
        step('CreateSchema', {
          status: 'retrying',
          attempts: 2,
          startedAt: at(500),
          error: { error: 'TransientDatabaseError', cause: 'the database is resuming' },
        }),
      ],
    };
    expect(stepsFrame(retrying, { now: T0 + 3500, tick: 0 })[0]).toBe(
      '  ↻ CreateSchema      3.0 s (2 attempts)  retrying after TransientDatabaseError',
    );
  });

  it('ends with the run: no spinner, the failed step and its error, the total time; a Cleanup not run left out', () => {
    const failed = {
      status: 'FAILED',
      startedAt: at(0),
      stoppedAt: at(900),
      steps: [
        step('Validate', {
          status: 'failed',
          attempts: 1,
          startedAt: at(0),
          endedAt: at(60),
          durationMs: 60,
          error: { error: 'TenantExistsError', cause: 'tenant acme already exists' },
        }),
        step('SyncTables', { status: 'skipped' }),
        step('Cleanup', { status: 'skipped' }),
      ],
    };
    expect(stepsFrame(failed, { now: T0 + 5000, tick: 7 })).toEqual([
      '  ✗ Validate          60 ms  TenantExistsError: tenant acme already exists',
      '  - SyncTables     skipped',
      '  failed in 900 ms',
    ]);
  });

  it('redraws in place: back up over the last frame, each line cleared, the rest of the screen cleared', () => {
    const written: string[] = [];
    const view = new LiveView((t) => written.push(t), 40);
    view.draw(['one', 'two']);
    view.draw(['three', 'a line far longer than the forty columns of this terminal']);
    view.draw(['one line\n      warning: and its warning']);
    expect(written[0]).toBe('\x1b[2Kone\n\x1b[2Ktwo\n\x1b[J');
    // Cut to the width (less one column), so that no line wraps and the count stays right.
    expect(written[1]).toBe('\x1b[2F\x1b[2Kthree\n\x1b[2Ka line far longer than the forty column\n\x1b[J');
    // A step line with a warning under it is two lines on the screen.
    expect(written[2]).toBe('\x1b[2F\x1b[2Kone line\n\x1b[2K      warning: and its warning\n\x1b[J');
    expect(view.frameText(['x'])).toBe('\x1b[2F\x1b[2Kx\n\x1b[J');
  });
});

describe('the plain view of a run (not a terminal)', () => {
  it('prints each step once whenever its status or attempt changes, never pending or skipped ones', () => {
    const lines = new StepLines();
    expect(lines.next(running.steps)).toEqual(['  ✓ Validate         120 ms', '  ▶ CreateSchema   running']);
    expect(lines.next(running.steps)).toEqual([]);
    const retried = running.steps.map((s) =>
      s.name === 'CreateSchema'
        ? { ...s, status: 'running' as const, attempts: 2 }
        : s.name === 'SyncTables'
          ? { ...s, status: 'skipped' as const }
          : s,
    );
    expect(lines.next(retried)).toEqual(['  ▶ CreateSchema   running (2 attempts)']);
  });

  it('describes a step as the CLI always has: symbol, name, time or state, attempts, error, warnings', () => {
    expect(
      describeStep(
        step('CreateIndexes', {
          status: 'succeeded',
          attempts: 2,
          durationMs: 85,
          warnings: ['index idx_x: column "x" does not exist'],
        }),
      ),
    ).toBe('  ✓ CreateIndexes     85 ms (2 attempts)\n      warning: index idx_x: column "x" does not exist');
  });

  it('formats times for people', () => {
    expect([840, 12_340, 125_000].map(formatDuration)).toEqual(['840 ms', '12.3 s', '2 m 05 s']);
  });
});

describe('the live view of a rollout', () => {
  it("draws each wave: a spinner while its tenants run, ✓ or ✗ once done, · while waiting; then the rollout's time", () => {
    const rollout: RolloutView = {
      status: 'running',
      createdAt: at(0),
      finishedAt: null,
      waves: [
        { wave: -1, counts: { skipped: 1 } },
        { wave: 0, counts: { succeeded: 2 } },
        { wave: 1, counts: { succeeded: 1, running: 2 } },
        { wave: 2, counts: { pending: 4 } },
      ],
    };
    expect(wavesFrame(rollout, { now: T0 + 65_000, tick: 1 })).toEqual([
      '  - skipped at selection: 1 skipped',
      '  ✓ wave 0 (canary): 2 succeeded',
      `  ${SPINNER[1]} wave 1: 1 succeeded, 2 running`,
      '  · wave 2: 4 pending',
      `  ${SPINNER[1]} 1 m 05 s so far`,
    ]);
    const halted = {
      ...rollout,
      status: 'halted',
      finishedAt: at(4000),
      waves: [{ wave: 0, counts: { succeeded: 1, failed: 1 } }],
    };
    expect(wavesFrame(halted, { now: T0 + 9000, tick: 2 })).toEqual([
      '  ✗ wave 0 (canary): 1 succeeded, 1 failed',
      '  halted in 4.0 s',
    ]);
  });
});
