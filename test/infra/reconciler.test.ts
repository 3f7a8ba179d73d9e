import { Duration } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATA_API_ACTIONS } from '../../infra/constructs/tenantry-function';
import { logicalId, roleStatements, type Synthesized, synthStack } from './synth';

describe('the scheduled reconciler', () => {
  let stack: Synthesized['stack'];
  let template: Synthesized['template'];
  beforeAll(() => {
    ({ stack, template } = synthStack());
  });
  const resolve = (value: unknown): unknown => stack.resolve(value);

  it('is invoked hourly by EventBridge Scheduler with a role that may invoke it and nothing else', () => {
    const schedules = template.findResources('AWS::Scheduler::Schedule');
    const reconciling = Object.values(schedules).filter(
      (s) =>
        JSON.stringify(s).includes(logicalId(stack.reconciler.function)) &&
        (s as { Properties: { ScheduleExpression: string } }).Properties.ScheduleExpression ===
          'rate(1 hour)',
    ) as { Properties: { Target: Record<string, unknown>; FlexibleTimeWindow: { Mode: string } } }[];
    expect(reconciling).toHaveLength(1);
    const target = reconciling[0]?.Properties.Target;
    expect(target?.RoleArn).toEqual({ 'Fn::GetAtt': [logicalId(stack.reconciler.schedulerRole), 'Arn'] });
    expect(target?.RetryPolicy).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 });
    expect(target?.DeadLetterConfig).toEqual({
      Arn: { 'Fn::GetAtt': [logicalId(stack.deprovisioning.deadLetterQueue), 'Arn'] },
    });
    const role = template.toJSON().Resources[logicalId(stack.reconciler.schedulerRole)];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': resolve(stack.account) } },
      }),
    ]);
    const actions = roleStatements(template, logicalId(stack.reconciler.schedulerRole)).flatMap(
      (s) => s.actions,
    );
    expect(new Set(actions)).toEqual(new Set(['lambda:InvokeFunction', 'sqs:SendMessage']));
  });

  it("its function may use the Data API, describe the executions that hold tenants, publish to the bus and delete tenants' login secrets (a stuck Provision's Cleanup), nothing else", () => {
    const fn = stack.reconciler.function;
    const statements = roleStatements(template, logicalId(fn.role as never));
    const actions = new Set(statements.flatMap((s) => s.actions));
    expect(statements.filter((s) => s.actions.includes('secretsmanager:DeleteSecret'))).toEqual([
      {
        actions: ['secretsmanager:DeleteSecret'],
        resources: [stack.resolve(stack.database.tenantLoginSecretsArn)],
      },
    ]);
    expect(actions).toEqual(
      new Set([
        ...DATA_API_ACTIONS,
        'secretsmanager:GetSecretValue',
        'secretsmanager:DeleteSecret',
        'states:DescribeExecution',
        'events:PutEvents',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
      ]),
    );
    // The executions of the Provision, Migrate and Deprovision state machines, no state machine itself.
    const described = statements
      .filter((s) => s.actions.includes('states:DescribeExecution'))
      .flatMap((s) => s.resources);
    expect(described).toHaveLength(3);
    for (const r of described) expect(JSON.stringify(r)).toMatch(/:execution:/);
    const env = template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
        'TENANTRY_PROVISION_STATE_MACHINE_ARN',
        'TENANTRY_MIGRATE_STATE_MACHINE_ARN',
        'TENANTRY_DEPROVISION_STATE_MACHINE_ARN',
        'TENANTRY_EVENT_BUS_NAME',
        'TENANTRY_TENANT_LOGIN_SECRET_PREFIX',
      ]),
    );
    expect(env.TENANTRY_RECONCILE_REPAIR).toBe('true');
  });

  it('takes its rate and report-only mode from the stack props', () => {
    const { stack: other, template: t } = synthStack({
      reconciler: { schedule: scheduler.ScheduleExpression.rate(Duration.minutes(15)), repair: false },
    });
    expect(JSON.stringify(t.findResources('AWS::Scheduler::Schedule'))).toContain('rate(15 minutes)');
    expect(
      t.toJSON().Resources[logicalId(other.reconciler.function)].Properties.Environment.Variables,
    ).toMatchObject({
      TENANTRY_RECONCILE_REPAIR: 'false',
    });
  });
});
