import { describe, expect, it } from 'vitest';
import { TRANSIENT_ERROR_NAMES } from '../../shared/errors';
import { PROVISION_WORKFLOW, renderAsl } from '../../statemachine/render';
import { RETRYABLE_ERRORS } from '../../statemachine/retry';

describe('rendered Provision ASL', () => {
  const asl = renderAsl(PROVISION_WORKFLOW);

  /** The states a run passes through; at each Choice, the first rule if the run's request has what it tests for. */
  function path(request: { restore?: boolean; template?: boolean; login?: boolean }): string[] {
    const order: string[] = [];
    let state: string | undefined = asl.StartAt;
    while (state) {
      order.push(state);
      const s = asl.States[state] as {
        Next?: string;
        Default?: string;
        Choices?: { Variable: string; Next: string }[];
      };
      const rule = s.Choices?.[0];
      const taken =
        rule &&
        ((rule.Variable.endsWith('.restore') && request.restore) ||
          (rule.Variable.endsWith('.template') && request.template) ||
          (rule.Variable.endsWith('.login') && request.login));
      state = s.Choices ? (taken ? rule.Next : s.Default) : s.Next;
    }
    return order;
  }

  it('runs the steps in order and ends in Provisioned', () => {
    const common = ['Validate', 'CreateSchema', 'SyncTables', 'CreateIndexes', 'RestoresBackup'];
    const built = [...common, 'Seed', 'UsesTemplate'];
    const end = ['Verify', 'GetsLogin', 'Register', 'Provisioned'];
    expect(path({})).toEqual([...built, ...end]);
    expect(path({ login: true })).toEqual([
      ...built,
      'Verify',
      'GetsLogin',
      'CreateLogin',
      'Register',
      'Provisioned',
    ]);
    expect(path({ restore: true, login: true })).toEqual([
      ...common,
      'RestoreRows',
      'Verify',
      'GetsLogin',
      'CreateLogin',
      'Register',
      'Provisioned',
    ]);
    expect(path({ template: true })).toEqual([
      ...built,
      'ApplySettings',
      'CreateAdminUser',
      'LoadInitialData',
      ...end,
    ]);
    expect(path({ restore: true })).toEqual([...common, 'RestoreRows', ...end]);
    expect(asl.States.UsesTemplate).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.steps.Validate.output.template', IsPresent: true, Next: 'ApplySettings' }],
    });
    expect(asl.States.GetsLogin).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.steps.Validate.output.login', IsPresent: true, Next: 'CreateLogin' }],
      Default: 'Register',
    });
    expect(asl.States.RestoresBackup).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.steps.Validate.output.restore', IsPresent: true, Next: 'RestoreRows' }],
      Default: 'Seed',
    });
    expect(asl.TimeoutSeconds).toBe(1800);
  });

  it('retries only transient errors, with backoff, jitter and a max delay, and catches the rest into Cleanup', () => {
    for (const name of ['Validate', 'SyncTables', 'Register']) {
      const state = asl.States[name] as {
        Retry: unknown[];
        Catch: unknown[];
        Resource: string;
        TimeoutSeconds: number;
      };
      expect(state.Resource).toBe('arn:aws:states:::lambda:invoke');
      expect(state.TimeoutSeconds).toBeGreaterThan(0);
      expect(state.Retry).toEqual([
        expect.objectContaining({
          ErrorEquals: [...RETRYABLE_ERRORS],
          BackoffRate: 2,
          JitterStrategy: 'FULL',
          MaxDelaySeconds: 60,
          MaxAttempts: 12,
        }),
      ]);
      expect(state.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: `$.failure.${name}`, Next: 'Cleanup' },
      ]);
    }
    // Cleanup retries longer: a failed Cleanup leaves the tenant held, so it outlasts a database restart.
    expect((asl.States.Cleanup as { Retry: unknown[] }).Retry).toEqual([
      expect.objectContaining({ ErrorEquals: [...RETRYABLE_ERRORS], MaxDelaySeconds: 60, MaxAttempts: 20 }),
    ]);
    expect(asl.States.Cleanup?.Next).toBe('ProvisioningFailed');
    expect(asl.States.ProvisioningFailed).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.steps.Cleanup.output.error',
    });
  });

  it('retries every error the domain calls transient', () => {
    for (const name of TRANSIENT_ERROR_NAMES) expect(RETRYABLE_ERRORS).toContain(name);
  });
});
