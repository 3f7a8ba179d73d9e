import { readFileSync } from 'node:fs';
import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type SFNClient,
  type HistoryEvent as SfnHistoryEvent,
} from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import {
  belongsToTenant,
  canonicalJson,
  provisionExecutionName,
  redriveExecutionName,
} from '../../shared/engine/names';
import { fullHistory } from '../../shared/engine/port';
import { SfnEnvSchema, SfnWorkflowEngine, toHistoryEvent } from '../../shared/engine/sfn';
import { type HistoryEvent, stepsFromHistory } from '../../shared/progress';
import { PROVISION_TASKS } from '../../statemachine/steps';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Provision';
const STEPS = PROVISION_TASKS.map((t) => t.state);

function fixture(name: string): HistoryEvent[] {
  return JSON.parse(readFileSync(new URL(`../events/${name}`, import.meta.url), 'utf8')) as HistoryEvent[];
}

/** The fixture as the SDK hands it over: the same events, with Date timestamps. */
function asSdkEvents(events: HistoryEvent[]): SfnHistoryEvent[] {
  return events.map((e) => ({ ...e, timestamp: new Date(e.timestamp) }) as unknown as SfnHistoryEvent);
}

/** A Step Functions client double: each command's name maps to what it answers (or throws). */
function fakeSfn(answers: Record<string, (input: Record<string, unknown>) => unknown>) {
  const calls: { command: string; input: Record<string, unknown> }[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      calls.push({ command: name, input: command.input });
      const answer = answers[name];
      if (!answer) throw new Error(`unexpected ${name}`);
      return answer(command.input);
    },
  } as unknown as SFNClient;
  return { client, calls };
}

describe('execution names', () => {
  const request = { tenantId: 'acme', displayName: 'Acme', blueprint: 'docex', requestedBy: 'ops' };

  it('are the same for the same request, whatever the key order, and differ for another request', () => {
    const reordered = { requestedBy: 'ops', blueprint: 'docex', displayName: 'Acme', tenantId: 'acme' };
    expect(provisionExecutionName('acme', request)).toBe(provisionExecutionName('acme', reordered));
    expect(provisionExecutionName('acme', request)).not.toBe(
      provisionExecutionName('acme', { ...request, displayName: 'ACME' }),
    );
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
  });

  it("fit Step Functions' 80 characters and alphabet, even for the longest tenant id", () => {
    const longest = `a${'b'.repeat(38)}c`;
    for (const name of [
      provisionExecutionName(longest, { ...request, tenantId: longest }),
      redriveExecutionName(longest, `${longest}-0123456789abcdef`),
    ]) {
      expect(name.length).toBeLessThanOrEqual(80);
      expect(name).toMatch(/^[a-z0-9_-]+$/);
    }
  });

  it("tell one tenant's executions from those of a tenant whose id starts the same", () => {
    const mine = provisionExecutionName('acme', request);
    const redrive = redriveExecutionName('acme', mine);
    const theirs = provisionExecutionName('acme-eu', { ...request, tenantId: 'acme-eu' });
    expect([mine, redrive].every((n) => belongsToTenant(n, 'acme'))).toBe(true);
    expect(belongsToTenant(theirs, 'acme')).toBe(false);
    expect(belongsToTenant(theirs, 'acme-eu')).toBe(true);
    expect(belongsToTenant('acme-cli-run', 'acme')).toBe(false);
  });
});

describe('the Step Functions adapter', () => {
  it('reads its state machine from the environment (its steps from their definition), and refuses anything else', () => {
    expect(
      SfnEnvSchema.parse({ TENANTRY_PROVISION_STATE_MACHINE_ARN: STATE_MACHINE })
        .TENANTRY_PROVISION_STATE_MACHINE_ARN,
    ).toBe(STATE_MACHINE);
    const bad = SfnEnvSchema.safeParse({ TENANTRY_PROVISION_STATE_MACHINE_ARN: 'arn:aws:lambda:x' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'TENANTRY_PROVISION_STATE_MACHINE_ARN',
    ]);
  });

  it('starts by name, and answers a taken name with that execution instead of a second one', async () => {
    const name = 'acme-0123456789abcdef';
    let taken = false;
    const { client, calls } = fakeSfn({
      StartExecutionCommand: () => {
        if (taken) throw new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
        taken = true;
        return { executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${name}` };
      },
    });
    const engine = new SfnWorkflowEngine(STATE_MACHINE, STEPS, client);
    const first = await engine.start(name, 'acme', { tenantId: 'acme' });
    const second = await engine.start(name, 'acme', { tenantId: 'acme' });
    expect(first).toEqual({ executionId: engine.executionArn(name), name, started: true });
    expect(second).toEqual({ ...first, started: false });
    expect(calls[0]).toEqual({
      command: 'StartExecutionCommand',
      input: { stateMachineArn: STATE_MACHINE, name, input: '{"tenantId":"acme"}' },
    });
  });

  it('describes an execution, and a missing one as undefined', async () => {
    const { client } = fakeSfn({
      DescribeExecutionCommand: (input) => {
        if (String(input.executionArn).endsWith(':gone')) {
          throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
        }
        return {
          executionArn: input.executionArn,
          name: 'acme-0123456789abcdef',
          status: 'ABORTED',
          input: '{"tenantId":"acme"}',
          error: 'Cancelled',
          cause: 'by ops',
          startDate: new Date('2026-11-23T11:00:00.000Z'),
          stopDate: new Date('2026-11-23T11:00:01.500Z'),
        };
      },
    });
    const engine = new SfnWorkflowEngine(STATE_MACHINE, STEPS, client);
    expect(await engine.describe(engine.executionArn('gone'))).toBeUndefined();
    expect(await engine.describe(engine.executionArn('acme-0123456789abcdef'))).toEqual({
      executionId: engine.executionArn('acme-0123456789abcdef'),
      name: 'acme-0123456789abcdef',
      status: 'ABORTED',
      input: { tenantId: 'acme' },
      error: 'Cancelled',
      cause: 'by ops',
      startedAt: '2026-11-23T11:00:00.000Z',
      stoppedAt: '2026-11-23T11:00:01.500Z',
    });
  });

  it('pages GetExecutionHistory, oldest first, and the one mapper turns it into steps', async () => {
    const events = fixture('provision-history-caught.json');
    const { client, calls } = fakeSfn({
      GetExecutionHistoryCommand: (input) => {
        const from = input.nextToken ? Number(input.nextToken) : 0;
        const size = Number(input.maxResults);
        const page = events.slice(from, from + Math.min(size, 10));
        const next = from + page.length;
        return { events: asSdkEvents(page), ...(next < events.length ? { nextToken: String(next) } : {}) };
      },
    });
    const engine = new SfnWorkflowEngine(STATE_MACHINE, STEPS, client);
    const history = await fullHistory(engine, engine.executionArn('acme-0123456789abcdef'));
    expect(history).toEqual(events);
    expect(calls).toHaveLength(3);
    expect(calls[0]?.input).toMatchObject({ reverseOrder: false, includeExecutionData: true });
    const progress = stepsFromHistory(STEPS, history);
    expect(progress.status).toBe('FAILED');
    expect(progress.steps.find((s) => s.name === 'Seed')).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('maps a stopped execution: the step in flight and the unreached ones are cancelled', () => {
    const events = fixture('provision-history-stopped.json');
    const progress = stepsFromHistory(STEPS, asSdkEvents(events).map(toHistoryEvent));
    expect(progress.status).toBe('ABORTED');
    expect(progress.error).toEqual({
      error: 'Cancelled',
      cause: 'cancelled through the API by arn:aws:iam::123456789012:user/ops',
    });
    const byName = Object.fromEntries(progress.steps.map((s) => [s.name, s]));
    expect(byName.Validate).toMatchObject({ status: 'succeeded', durationMs: 150 });
    expect(byName.CreateSchema).toMatchObject({
      status: 'cancelled',
      attempts: 1,
      endedAt: '2026-11-23T11:00:01.500Z',
    });
    expect(['SyncTables', 'Register', 'Cleanup'].map((n) => byName[n]?.status)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
  });

  it("lists a tenant's executions from ListExecutions pages, by the execution-name format", async () => {
    const item = (name: string, status = 'SUCCEEDED') => ({
      executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:${name}`,
      stateMachineArn: STATE_MACHINE,
      name,
      status,
      startDate: new Date('2026-11-23T11:00:00.000Z'),
    });
    const pages = [
      { executions: [item('acme-0123456789abcdef'), item('acme-eu-0123456789abcdef')], nextToken: 'p2' },
      { executions: [item('acme-r0123456789abcdef', 'PENDING_REDRIVE'), item('other-0123456789abcdef')] },
    ];
    const { client } = fakeSfn({
      ListExecutionsCommand: (input) => (input.nextToken === 'p2' ? pages[1] : pages[0]),
    });
    const engine = new SfnWorkflowEngine(STATE_MACHINE, STEPS, client);
    const page = await engine.listByTenant('acme');
    expect(page.nextToken).toBeUndefined();
    expect(page.items.map((i) => [i.name, i.status])).toEqual([
      ['acme-0123456789abcdef', 'SUCCEEDED'],
      ['acme-r0123456789abcdef', 'RUNNING'],
    ]);
  });
});

describe('the Deprovision workflow on Step Functions', () => {
  const DEPROVISION = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Deprovision';

  it('starts and addresses Deprovision executions on the Deprovision state machine', async () => {
    const { client, calls } = fakeSfn({
      StartExecutionCommand: () => ({
        executionArn: `${DEPROVISION.replace(':stateMachine:', ':execution:')}:acme-d1`,
      }),
    });
    const engine = new SfnWorkflowEngine(STATE_MACHINE, STEPS, client, {
      Deprovision: { stateMachineArn: DEPROVISION, steps: ['Validate', 'Cleanup'] },
    });
    expect(engine.workflows).toEqual(['Provision', 'Deprovision']);
    expect(engine.stepsOf('Deprovision')).toEqual(['Validate', 'Cleanup']);
    expect(engine.executionArn('acme-d1', 'Deprovision')).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:Deprovision:acme-d1',
    );
    const started = await engine.start('acme-d1', 'acme', { tenantId: 'acme' }, 'Deprovision');
    expect(started).toMatchObject({ name: 'acme-d1', started: true });
    expect(calls[0]?.input).toMatchObject({ stateMachineArn: DEPROVISION, name: 'acme-d1' });
  });

  it('has no Deprovision workflow without its state machine, and says so when asked for one', () => {
    const engine = new SfnWorkflowEngine(STATE_MACHINE, STEPS, fakeSfn({}).client);
    expect(engine.workflows).toEqual(['Provision']);
    expect(() => engine.executionArn('x', 'Deprovision')).toThrow(/TENANTRY_DEPROVISION_STATE_MACHINE_ARN/);
  });
});
