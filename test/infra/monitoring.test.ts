import { ArnFormat, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ALARM_THRESHOLDS,
  balancedChunks,
  insightsQuery,
  MAX_METRICS_PER_ALARM,
  searchTerm,
} from '../../infra/constructs/monitoring';
import { TenantryStack } from '../../infra/stack';
import { API_ROUTES } from '../../shared/api/route-table';
import { METRICS } from '../../shared/observability/catalog';
import { taskStates, WORKFLOWS, type WorkflowName } from '../../shared/workflows';
import { logicalId, type Synthesized, synthStack, testApp } from './synth';

const WORKFLOW_NAMES = Object.keys(WORKFLOWS) as WorkflowName[];
const EXISTING = {
  clusterArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:tenants',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenants-admin-AbC123',
};
const OPS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';

type Resource = { Type: string; Properties: Record<string, unknown> };
type MetricQuery = {
  Id: string;
  Expression?: string;
  Period?: number;
  ReturnData?: boolean;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] };
    Stat: string;
    Period: number;
  };
};
type Widget = { type: string; properties: { title?: string; metrics?: unknown[][]; alarms?: string[] } };

/** The alarm ids the construct makes for a group of `size` functions. */
function functionAlarmIds(group: string, size: number): string[] {
  const parts = Math.ceil(size / MAX_METRICS_PER_ALARM);
  const suffixes = parts === 1 ? [''] : Array.from({ length: parts }, (_, i) => String(i + 1));
  return suffixes.flatMap((s) => [`${group}FunctionErrors${s}`, `${group}FunctionThrottles${s}`]);
}

/** The dashboard body as JSON, each CloudFormation token replaced by `«Ref:Id»` or `«GetAtt:Id.Attr»`. */
function dashboardBody(template: Template): { start: string; widgets: Widget[] } {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
  expect(dashboards).toHaveLength(1);
  const body = defined(dashboards[0], 'dashboard').Properties.DashboardBody;
  const join = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = join[1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (token.Ref) return `«Ref:${token.Ref}»`;
      if (token['Fn::GetAtt']) return `«GetAtt:${token['Fn::GetAtt'].join('.')}»`;
      throw new Error(`unexpected token in the dashboard body: ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text);
}

describe('TenantryMonitoring in the default stack', () => {
  let stack: Synthesized['stack'];
  let template: Synthesized['template'];
  let resources: Record<string, Resource>;
  let topicRef: { Ref: string };
  beforeAll(() => {
    ({ stack, template } = synthStack());
    resources = template.toJSON().Resources;
    topicRef = { Ref: logicalId(stack.monitoring.alarmTopic as sns.Topic) };
  });
  const alarm = (id: string): Record<string, unknown> => {
    const made = stack.monitoring.alarms[id];
    if (!made) throw new Error(`no alarm ${id}`);
    const resource = resources[logicalId(made)];
    expect(resource?.Type).toBe('AWS::CloudWatch::Alarm');
    return resource?.Properties ?? {};
  };
  const workflowFunctions = (name: WorkflowName) =>
    name === 'Deprovision' ? stack.deprovisioning.workflow.functions : stack[lowerFirst(name)].functions;

  it('makes exactly the alarms it documents', () => {
    const expected = [
      ...WORKFLOW_NAMES.flatMap((w) => [`${w}ExecutionsFailed`, `${w}ExecutionsTimedOut`]),
      ...WORKFLOW_NAMES.flatMap((w) => functionAlarmIds(w, taskStates(w).length)),
      ...functionAlarmIds('Api', API_ROUTES.length),
      ...functionAlarmIds('Reconciler', 1),
      'ScheduleDeadLetters',
      'DatabaseCapacity',
      'DatabaseCpu',
      'DataApiErrors',
      'RolloutsHalted',
    ];
    expect(Object.keys(stack.monitoring.alarms).sort()).toEqual([...expected].sort());
    template.resourceCountIs('AWS::CloudWatch::Alarm', expected.length);
  });

  it('sends every alarm, on ALARM and on OK, to the topic, named after the stack, missing data not breaching', () => {
    for (const [id, made] of Object.entries(stack.monitoring.alarms)) {
      expect(resources[logicalId(made)]?.Properties, id).toMatchObject({
        AlarmName: `Tenantry-${id}`,
        AlarmActions: [topicRef],
        OKActions: [topicRef],
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('creates an encrypted, TLS-only topic that CloudWatch alarms of this account may publish to', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const topic = defined(resources[topicRef.Ref], 'topic');
    const keyId = (topic.Properties.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const key = defined(resources[keyId], 'key');
    expect(key).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    const alarmArns = stack.resolve(
      stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    expect((key.Properties.KeyPolicy as { Statement: unknown[] }).Statement).toContainEqual({
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { ArnLike: { 'aws:SourceArn': alarmArns } },
    });
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as Resource[];
    expect(policies).toHaveLength(1);
    expect(policies[0]?.Properties.Topics).toEqual([topicRef]);
    const document = defined(policies[0], 'topic policy').Properties.PolicyDocument;
    const statements = (document as { Statement: unknown[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topicRef,
        Condition: { ArnLike: { 'aws:SourceArn': alarmArns } },
      }),
    );
  });

  it.each(WORKFLOW_NAMES)('alarms on any failed or timed-out %s execution', (name) => {
    const machine = { Ref: logicalId(machineOf(stack, name)) };
    for (const [id, metricName] of [
      [`${name}ExecutionsFailed`, 'ExecutionsFailed'],
      [`${name}ExecutionsTimedOut`, 'ExecutionsTimedOut'],
    ] as const) {
      expect(alarm(id), id).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: metricName,
        Dimensions: [{ Name: 'StateMachineArn', Value: machine }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
      });
    }
  });

  it('sums Lambda errors and throttles over each group, at most ten functions an alarm, covering every function once', () => {
    const groups: [string, Readonly<Record<string, lambda.IFunction>>, number][] = [
      ...WORKFLOW_NAMES.map((w): [string, Readonly<Record<string, lambda.IFunction>>, number] => [
        w,
        workflowFunctions(w),
        ALARM_THRESHOLDS.stepFunctionErrors,
      ]),
      ['Api', stack.api.functions, ALARM_THRESHOLDS.functionErrors],
      ['Reconciler', { Reconcile: stack.reconciler.function }, ALARM_THRESHOLDS.functionErrors],
    ];
    expect(ALARM_THRESHOLDS.stepFunctionErrors).toBe(5);
    expect(ALARM_THRESHOLDS.functionErrors).toBe(1);
    for (const [group, functions, errorThreshold] of groups) {
      const expected = Object.values(functions)
        .map((fn) => logicalId(fn))
        .sort();
      for (const [kind, threshold] of [
        ['Errors', errorThreshold],
        ['Throttles', 1],
      ] as const) {
        const ids = Object.keys(stack.monitoring.alarms).filter((id) =>
          new RegExp(`^${group}Function${kind}\\d*$`).test(id),
        );
        expect(ids.length, `${group} ${kind}`).toBe(Math.ceil(expected.length / MAX_METRICS_PER_ALARM));
        const covered: string[] = [];
        for (const id of ids) {
          const props = alarm(id);
          expect(props, id).toMatchObject({
            Threshold: threshold,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            EvaluationPeriods: 1,
          });
          const queries = props.Metrics as MetricQuery[];
          const stats = queries.filter((q) => q.MetricStat);
          const [expression, ...others] = queries.filter((q) => q.Expression);
          expect(others, id).toEqual([]);
          expect(expression?.ReturnData, id).toBe(true);
          expect(expression?.Expression, id).toBe(`SUM([${stats.map((q) => q.Id).join(',')}])`);
          expect(stats.length, id).toBeLessThanOrEqual(MAX_METRICS_PER_ALARM);
          for (const q of stats) {
            expect(q.MetricStat, id).toMatchObject({
              Metric: { Namespace: 'AWS/Lambda', MetricName: kind },
              Stat: 'Sum',
              Period: 300,
            });
            const [dimension] = q.MetricStat?.Metric.Dimensions ?? [];
            expect(dimension?.Name).toBe('FunctionName');
            covered.push((defined(dimension, id).Value as { Ref: string }).Ref);
          }
        }
        expect(covered.sort(), `${group} ${kind}`).toEqual(expected);
      }
    }
  });

  it('alarms as soon as the Scheduler dead-letter queue holds a message', () => {
    expect(alarm('ScheduleDeadLetters')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack.deprovisioning.deadLetterQueue), 'QueueName'] },
        },
      ],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
  });

  it("alarms on the cluster's ACU utilization near its maximum and on its CPU, for 15 minutes", () => {
    const cluster = stack.database.cluster;
    if (!cluster) throw new Error('the default stack creates its cluster');
    const dimensions = [{ Name: 'DBClusterIdentifier', Value: { Ref: logicalId(cluster) } }];
    for (const [id, metricName, threshold] of [
      ['DatabaseCapacity', 'ACUUtilization', 90],
      ['DatabaseCpu', 'CPUUtilization', 80],
    ] as const) {
      expect(alarm(id), id).toMatchObject({
        Namespace: 'AWS/RDS',
        MetricName: metricName,
        Dimensions: dimensions,
        Statistic: 'Average',
        Period: 300,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
      });
    }
  });

  it('alarms on Data API errors and halted rollouts with Metrics Insights queries over the catalogue metrics', () => {
    expect(METRICS.DataApiErrors.dimensions).toEqual(['error']);
    expect(alarm('DataApiErrors')).toMatchObject({
      Metrics: [
        {
          Id: expect.any(String),
          Expression: 'SELECT SUM("DataApiErrors") FROM SCHEMA("Tenantry", "error")',
          Period: 300,
          ReturnData: true,
        },
      ],
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
    expect(alarm('RolloutsHalted')).toMatchObject({
      Metrics: [
        {
          Id: expect.any(String),
          Expression:
            'SELECT SUM("RolloutHalted") FROM SCHEMA("Tenantry", "workflow", "blueprint") WHERE "workflow" = \'Rollout\'',
          Period: 300,
          ReturnData: true,
        },
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
  });

  it('builds one dashboard, named after the stack, with executions, step durations, failures by step and the fleet', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
    expect(dashboard?.Properties.DashboardName).toBe('Tenantry');
    const { widgets } = dashboardBody(template);
    const titled = (title: string): Widget => {
      const found = widgets.find((w) => w.properties.title === title);
      if (!found) throw new Error(`no widget titled ${title}`);
      return found;
    };

    const alarmWidget = titled('Alarms');
    expect(alarmWidget.type).toBe('alarm');
    expect(alarmWidget.properties.alarms).toEqual(
      Object.values(stack.monitoring.alarms).map((a) => `«GetAtt:${logicalId(a)}.Arn»`),
    );

    for (const name of WORKFLOW_NAMES) {
      const machine = `«Ref:${logicalId(machineOf(stack, name))}»`;
      expect(titled(`Executions: ${name}`).properties.metrics?.map((m) => m.slice(0, 4))).toEqual(
        [
          'ExecutionsStarted',
          'ExecutionsSucceeded',
          'ExecutionsFailed',
          'ExecutionsTimedOut',
          'ExecutionsAborted',
        ].map((metric) => ['AWS/States', metric, 'StateMachineArn', machine]),
      );
      const steps = taskStates(name).map((s) => s.state);
      for (const [title, metric, stat] of [
        [`StepDuration p50: ${name}`, 'StepDuration', 'p50'],
        [`StepDuration p95: ${name}`, 'StepDuration', 'p95'],
        [`StepFailed by step: ${name}`, 'StepFailed', 'Sum'],
      ] as const) {
        expect(titled(title).properties.metrics, title).toEqual(
          steps.map((step) => ['Tenantry', metric, 'step', step, 'workflow', name, { label: step, stat }]),
        );
      }
    }

    const search = (title: string) =>
      (defined(titled(title).properties.metrics?.[0]?.[0], title) as { expression: string }).expression;
    expect(search('Fleet: tenants by status')).toBe(
      `SEARCH('{Tenantry,status} MetricName="FleetTenants"', 'Average', 3600)`,
    );
    expect(search('Fleet: tenants by blueprint version')).toBe(
      `SEARCH('{Tenantry,blueprint,version} MetricName="FleetTenantsByVersion"', 'Average', 3600)`,
    );
    expect(search('Failed runs by workflow and step')).toBe(
      `SEARCH('{Tenantry,workflow,step} MetricName="WorkflowFailed"', 'Sum', 300)`,
    );
    expect(search('Data API errors by error')).toBe(
      `SEARCH('{Tenantry,error} MetricName="DataApiErrors"', 'Sum', 300)`,
    );
    expect(search('Rollouts halted by blueprint')).toBe(
      `SEARCH('{Tenantry,workflow,blueprint} MetricName="RolloutHalted"', 'Sum', 300)`,
    );
  });

  it('outputs the topic ARN and the dashboard name', () => {
    template.hasOutput('AlarmTopicArn', { Value: topicRef });
    template.hasOutput('DashboardName', { Value: { Ref: logicalId(stack.monitoring.dashboard) } });
  });
});

describe('TenantryMonitoring with an existing cluster and a topic of yours', () => {
  let stack: TenantryStack;
  let template: Template;
  beforeAll(() => {
    const app = testApp();
    const ops = new Stack(app, 'Ops');
    stack = new TenantryStack(app, 'Tenantry', {
      database: { existing: EXISTING },
      monitoring: {
        alarmTopic: sns.Topic.fromTopicArn(ops, 'AlarmTopic', OPS_TOPIC_ARN),
        alarmEmails: ['ops@example.com'],
        dashboardName: 'tenantry-prod',
      },
    });
    template = Template.fromStack(stack);
  });

  it('sends every alarm to that topic and creates no topic or key of its own', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.resourceCountIs('AWS::SNS::TopicPolicy', 0);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
    expect(alarms.length).toBe(Object.keys(stack.monitoring.alarms).length);
    for (const a of alarms) {
      expect(a.Properties).toMatchObject({ AlarmActions: [OPS_TOPIC_ARN], OKActions: [OPS_TOPIC_ARN] });
    }
    template.hasOutput('AlarmTopicArn', { Value: OPS_TOPIC_ARN });
  });

  it('subscribes the given email addresses to it', () => {
    expect(Object.values(template.findResources('AWS::SNS::Subscription'))).toEqual([
      {
        Type: 'AWS::SNS::Subscription',
        Properties: { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: OPS_TOPIC_ARN },
      },
    ]);
  });

  it('watches the existing cluster, by the identifier in its ARN, and names the dashboard as asked', () => {
    for (const id of ['DatabaseCapacity', 'DatabaseCpu']) {
      const made = stack.monitoring.alarms[id];
      if (!made) throw new Error(`no alarm ${id}`);
      expect(template.toJSON().Resources[logicalId(made)].Properties.Dimensions, id).toEqual([
        { Name: 'DBClusterIdentifier', Value: 'tenants' },
      ]);
    }
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'tenantry-prod' });
  });
});

describe('the monitoring helpers', () => {
  it('split a group into the fewest parts of at most ten, balanced', () => {
    const sizes = (n: number) =>
      balancedChunks(
        Array.from({ length: n }, (_, i) => i),
        10,
      ).map((p) => p.length);
    expect(sizes(0)).toEqual([]);
    expect(sizes(1)).toEqual([1]);
    expect(sizes(10)).toEqual([10]);
    expect(sizes(12)).toEqual([6, 6]);
    expect(sizes(34)).toEqual([9, 9, 8, 8]);
    expect(balancedChunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('derive SEARCH terms and Metrics Insights queries from the catalogue', () => {
    expect(searchTerm('StepDuration')).toBe('{Tenantry,workflow,step} MetricName="StepDuration"');
    expect(insightsQuery('FleetTenants', { status: 'active' })).toBe(
      `SELECT SUM("FleetTenants") FROM SCHEMA("Tenantry", "status") WHERE "status" = 'active'`,
    );
  });
});

function lowerFirst<W extends Exclude<WorkflowName, 'Deprovision'>>(name: W): Lowercase<W> {
  return name.toLowerCase() as Lowercase<W>;
}

function machineOf(stack: TenantryStack, name: WorkflowName) {
  return name === 'Deprovision'
    ? stack.deprovisioning.deprovisionStateMachine
    : stack[lowerFirst(name)].stateMachine;
}

function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
}
