import { Arn, ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  type DimensionsOf,
  METRICS,
  METRICS_NAMESPACE,
  type MetricName,
} from '../../shared/observability/catalog';
import { taskStates, WORKFLOWS, type WorkflowName } from '../../shared/workflows';
import type { TenantryDatabase } from './database';

/** Every alarm looks at five-minute periods. */
export const ALARM_PERIOD = Duration.minutes(5);
/** CloudWatch evaluates at most ten metrics in one alarm's metric math. */
export const MAX_METRICS_PER_ALARM = 10;
/** The reconciler emits the fleet counts once a run (hourly by default). */
const FLEET_PERIOD = Duration.hours(1);

/**
 * The thresholds, in one place: each alarm fires when its value reaches (`>=`) the threshold in as
 * many consecutive five-minute periods as `periods` says, except the dead-letter queue (`> 0`).
 */
export const ALARM_THRESHOLDS = {
  /** Every failed run has already run its Cleanup and recorded the failure: someone should read it. */
  executionsFailed: 1,
  /** A run that passed its workflow's overall timeout ended without its Cleanup: its tenant stays claimed. */
  executionsTimedOut: 1,
  /** Route and reconciler handlers turn expected errors into responses: any Lambda error is a crash or a timeout. */
  functionErrors: 1,
  /** Step handlers throw transient errors on purpose for the workflow's Retry, so a few are normal. */
  stepFunctionErrors: 5,
  /** Any throttle: invocations are queuing behind the account's concurrency. */
  functionThrottles: 1,
  /** Data API errors of every kind together (a resuming cluster produces a few transient ones). */
  dataApiErrors: 5,
  /** Every halted rollout waits for someone to resume or cancel it. */
  rolloutsHalted: 1,
  /** ACUUtilization (percent of the cluster's maximum ACUs), on average, for `periods` periods. */
  acuUtilizationPercent: { threshold: 90, periods: 3 },
  /** CPUUtilization (percent), on average, for `periods` periods. */
  cpuUtilizationPercent: { threshold: 80, periods: 3 },
} as const;

/** What the construct needs of a workflow: a TenantryWorkflow is one. */
export interface MonitoredWorkflow {
  readonly stateMachine: sfn.IStateMachine;
  /** The function behind each task state, keyed by state name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
}

export interface TenantryMonitoringProps {
  /**
   * The workflows of shared/workflows.ts as deployed: each one's state machine and task functions.
   * A workflow left out (the Rollout, when Tenantry leaves it out) gets no alarm and no widget;
   * without the Rollout there is no `RolloutsHalted` alarm either.
   */
  readonly workflows: Readonly<Partial<Record<WorkflowName, MonitoredWorkflow>>>;
  /** Other functions, in named groups, each function by name (the API's routes, the reconciler). @default - none */
  readonly functions?: Readonly<Record<string, Readonly<Record<string, lambda.IFunction>>>>;
  /** The EventBridge Scheduler dead-letter queue: schedules that could not start their target. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The database whose cluster's capacity and CPU are watched. */
  readonly database: TenantryDatabase;
  /**
   * Where every alarm sends its ALARM and OK notifications. A topic of your own must let
   * `cloudwatch.amazonaws.com` publish to it (and use its KMS key, if it is encrypted).
   * @default - a new topic, encrypted with a new customer-managed key, TLS only
   */
  readonly alarmTopic?: sns.ITopic;
  /** Email addresses subscribed to the alarm topic (each must confirm its subscription). @default - none */
  readonly alarmEmails?: readonly string[];
  /** @default - the stack's name */
  readonly dashboardName?: string;
}

/**
 * Alarms and one dashboard for the control plane, every alarm notifying one SNS topic (ALARM and
 * OK). The Tenantry-namespace alarms and widgets come from the metric catalogue
 * (shared/observability/catalog.ts) and the per-step widgets from shared/workflows.ts, so a new
 * metric or step is one entry there.
 *
 * Alarms (thresholds in `ALARM_THRESHOLDS`, missing data is not breaching):
 * - per workflow, AWS/States `ExecutionsFailed` and `ExecutionsTimedOut` of its state machine;
 * - Lambda `Errors` and `Throttles`, summed with metric math over each workflow's task functions
 *   and over each other group (the API, the reconciler), never one alarm per function: with about
 *   seventy functions that would be some 140 alarms. An alarm's metric math may read at most ten
 *   metrics, so a group of more than ten is split into balanced parts, one alarm each, the
 *   functions it covers listed in its description. (Metrics Insights cannot narrow AWS/Lambda to
 *   this stack's functions: its WHERE clause knows only `=`, `!=` and `AND`, and function names
 *   are generated.) A workflow's functions alarm at 5 errors, since step handlers throw transient
 *   errors for the workflow's Retry; the other groups at 1;
 * - the Scheduler dead-letter queue holding any visible message (`ApproximateNumberOfMessagesVisible`);
 * - Aurora `ACUUtilization` (capacity as a percentage of the cluster's maximum, so it needs no
 *   copy of `maxCapacity`) and `CPUUtilization`, per cluster. For an `existing` cluster the
 *   identifier is taken from its ARN; a provisioned (not Serverless v2) cluster reports no
 *   ACUUtilization, so that alarm stays OK;
 * - the catalogue's `DataApiErrors` (dimension `error`) and `RolloutHalted` (dimensions workflow
 *   and blueprint, blueprint names unbounded), each summed over all its series by a Metrics
 *   Insights query: a SEARCH expression cannot feed an alarm, and a query picks up new error
 *   names and blueprints by itself.
 *
 * The dashboard: the alarms' states; executions per workflow; StepDuration p50 and p95 and
 * StepFailed per step of each workflow; failed runs by step, rollouts halted and Data API errors
 * (SEARCH); the fleet by status and by blueprint version (SEARCH over the reconciler's hourly
 * counts); Lambda errors and throttles per group; the Scheduler dead-letter queue; the cluster's
 * capacity and CPU.
 *
 * Plain aws-cloudwatch rather than cdk-monitoring-constructs: that library alarms per function
 * (not per group), builds its own dashboards and alarm names, and half of what is here (the
 * catalogue's Metrics Insights alarms, the per-step and SEARCH widgets) would be custom code
 * inside it anyway.
 */
export class TenantryMonitoring extends Construct {
  /** The topic every alarm notifies. */
  public readonly alarmTopic: sns.ITopic;
  public readonly dashboard: cw.Dashboard;
  /** Every alarm, keyed by its construct id (also the end of its name: `<stack>-<id>`). */
  public readonly alarms: Readonly<Record<string, cw.Alarm>>;

  private readonly alarmScope: Construct;
  private readonly action: cwActions.SnsAction;
  private readonly created: Record<string, cw.Alarm> = {};

  constructor(scope: Construct, id: string, props: TenantryMonitoringProps) {
    super(scope, id);
    this.alarmTopic = props.alarmTopic ?? this.createTopic();
    // In this construct, not under the topic: an imported topic may live in another stack.
    (props.alarmEmails ?? []).forEach((endpoint, i) => {
      new sns.Subscription(this, `AlarmEmail${i + 1}`, {
        topic: this.alarmTopic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint,
      });
    });
    this.action = new cwActions.SnsAction(this.alarmTopic);
    this.alarmScope = new Construct(this, 'Alarms');
    this.alarms = this.created;

    const workflows = (Object.keys(WORKFLOWS) as WorkflowName[]).filter((name) => props.workflows[name]);
    for (const name of workflows) {
      const { stateMachine } = deployed(props.workflows, name);
      this.alarm(`${name}ExecutionsFailed`, {
        metric: stateMachine.metricFailed({ statistic: cw.Stats.SUM, period: ALARM_PERIOD }),
        threshold: ALARM_THRESHOLDS.executionsFailed,
        description: `A ${name} execution failed: its Cleanup ran and recorded the failure. Read the execution, then redrive or retry.`,
      });
      this.alarm(`${name}ExecutionsTimedOut`, {
        metric: stateMachine.metricTimedOut({ statistic: cw.Stats.SUM, period: ALARM_PERIOD }),
        threshold: ALARM_THRESHOLDS.executionsTimedOut,
        description: `A ${name} execution passed its overall timeout and ended without its Cleanup: its tenant may stay claimed until the reconciler repairs it.`,
      });
    }

    const groups: FunctionGroup[] = [
      ...workflows.map((name) => ({
        name,
        functions: deployed(props.workflows, name).functions,
        errorThreshold: ALARM_THRESHOLDS.stepFunctionErrors,
      })),
      ...Object.entries(props.functions ?? {}).map(([name, functions]) => ({
        name,
        functions,
        errorThreshold: ALARM_THRESHOLDS.functionErrors,
      })),
    ];
    for (const group of groups) this.functionAlarms(group);

    this.alarm('ScheduleDeadLetters', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: cw.Stats.MAXIMUM,
        period: ALARM_PERIOD,
      }),
      threshold: 0,
      comparison: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      description:
        'The EventBridge Scheduler dead-letter queue holds a message: a scheduled deprovisioning or reconciler run did not start after its retries. The body names the schedule and the error.',
    });

    const cluster = clusterIdentifier(props.database);
    this.alarm('DatabaseCapacity', {
      metric: rdsMetric('ACUUtilization', cluster),
      threshold: ALARM_THRESHOLDS.acuUtilizationPercent.threshold,
      periods: ALARM_THRESHOLDS.acuUtilizationPercent.periods,
      description:
        'The Aurora cluster has run near its maximum capacity (ACUUtilization) for 15 minutes: raise maxCapacity or find the load.',
    });
    this.alarm('DatabaseCpu', {
      metric: rdsMetric('CPUUtilization', cluster),
      threshold: ALARM_THRESHOLDS.cpuUtilizationPercent.threshold,
      periods: ALARM_THRESHOLDS.cpuUtilizationPercent.periods,
      description: 'The Aurora cluster has been busy (CPUUtilization) for 15 minutes.',
    });

    this.alarm('DataApiErrors', {
      metric: insightsSum('DataApiErrors', 'Data API errors'),
      threshold: ALARM_THRESHOLDS.dataApiErrors,
      description:
        'Data API calls are failing (the DataApiErrors metric, all error names together). The dashboard splits them by error.',
    });
    if (props.workflows.Rollout) {
      this.alarm('RolloutsHalted', {
        metric: insightsSum('RolloutHalted', 'Rollouts halted', { workflow: 'Rollout' }),
        threshold: ALARM_THRESHOLDS.rolloutsHalted,
        description:
          'A rollout halted: a wave passed its failure tolerance, or the rollout failed. Resume or cancel it (GET /rollouts shows which).',
      });
    }

    this.dashboard = new cw.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? Stack.of(this).stackName,
      defaultInterval: Duration.days(1),
    });
    this.addWidgets(props, workflows, groups, cluster);
  }

  /** An encrypted, TLS-only topic that CloudWatch alarms of this account may publish to. */
  private createTopic(): sns.Topic {
    const alarms = { ArnLike: { 'aws:SourceArn': alarmArns(this) } };
    const cloudwatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: `Encrypts ${this.node.path}/AlarmTopic; CloudWatch alarms may use it to publish`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // The AWS-managed alias/aws/sns key cannot admit CloudWatch, so alarms could not publish.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: alarms,
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${Stack.of(this).stackName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: alarms,
      }),
    );
    return topic;
  }

  /** Errors and Throttles alarms over a group's functions, one pair per part of at most ten. */
  private functionAlarms(group: FunctionGroup): void {
    const parts = balancedChunks(Object.entries(group.functions), MAX_METRICS_PER_ALARM);
    parts.forEach((part, index) => {
      const suffix = parts.length > 1 ? String(index + 1) : '';
      const names = part.map(([name]) => name).join(', ');
      const of = parts.length > 1 ? ` (part ${index + 1} of ${parts.length})` : '';
      this.alarm(`${group.name}FunctionErrors${suffix}`, {
        metric: lambdaSum(group.name, part, 'Errors', `${group.name} errors${of}`),
        threshold: group.errorThreshold,
        description: `Lambda errors of ${group.name} functions${of}, summed: ${names}.`,
      });
      this.alarm(`${group.name}FunctionThrottles${suffix}`, {
        metric: lambdaSum(group.name, part, 'Throttles', `${group.name} throttles${of}`),
        threshold: ALARM_THRESHOLDS.functionThrottles,
        description: `Lambda throttles of ${group.name} functions${of}, summed: ${names}.`,
      });
    });
  }

  private alarm(id: string, spec: AlarmSpec): cw.Alarm {
    const periods = spec.periods ?? 1;
    const alarm = new cw.Alarm(this.alarmScope, id, {
      alarmName: `${Stack.of(this).stackName}-${id}`,
      alarmDescription: spec.description,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison ?? cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.created[id] = alarm;
    return alarm;
  }

  private addWidgets(
    props: TenantryMonitoringProps,
    workflows: readonly WorkflowName[],
    groups: readonly FunctionGroup[],
    cluster: string,
  ): void {
    const quarter = 24 / Math.max(1, workflows.length);
    const d = this.dashboard;
    d.addWidgets(
      new cw.TextWidget({
        markdown: `# ${Stack.of(this).stackName}\nTenantry control plane: alarms notify the SNS topic \`${this.alarmTopic.topicName}\`.`,
        width: 24,
        height: 2,
      }),
    );
    d.addWidgets(
      new cw.AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(this.created),
        width: 24,
        height: 6,
        sortBy: cw.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
      }),
    );

    d.addWidgets(
      ...workflows.map((name) => {
        const sm = deployed(props.workflows, name).stateMachine;
        const sum = { statistic: cw.Stats.SUM, period: ALARM_PERIOD };
        return new cw.GraphWidget({
          title: `Executions: ${name}`,
          width: quarter,
          left: [
            sm.metricStarted({ ...sum, label: 'Started' }),
            sm.metricSucceeded({ ...sum, label: 'Succeeded' }),
            sm.metricFailed({ ...sum, label: 'Failed' }),
            sm.metricTimedOut({ ...sum, label: 'Timed out' }),
            sm.metricAborted({ ...sum, label: 'Aborted' }),
          ],
        });
      }),
    );
    for (const percentile of ['p50', 'p95'] as const) {
      d.addWidgets(
        ...workflows.map(
          (name) =>
            new cw.GraphWidget({
              title: `StepDuration ${percentile}: ${name}`,
              width: quarter,
              left: taskStates(name).map(({ state }) =>
                tenantryMetric(
                  'StepDuration',
                  { workflow: name, step: state },
                  { statistic: percentile, label: state },
                ),
              ),
              leftYAxis: { label: 'ms', showUnits: false, min: 0 },
            }),
        ),
      );
    }
    d.addWidgets(
      ...workflows.map(
        (name) =>
          new cw.GraphWidget({
            title: `StepFailed by step: ${name}`,
            width: quarter,
            stacked: true,
            left: taskStates(name).map(({ state }) =>
              tenantryMetric(
                'StepFailed',
                { workflow: name, step: state },
                { statistic: cw.Stats.SUM, label: state },
              ),
            ),
          }),
      ),
    );

    d.addWidgets(
      searchGraph('Failed runs by workflow and step', 'WorkflowFailed', cw.Stats.SUM, ALARM_PERIOD, 8),
      ...(props.workflows.Rollout
        ? [searchGraph('Rollouts halted by blueprint', 'RolloutHalted', cw.Stats.SUM, ALARM_PERIOD, 8)]
        : []),
      searchGraph('Data API errors by error', 'DataApiErrors', cw.Stats.SUM, ALARM_PERIOD, 8),
    );
    d.addWidgets(
      searchGraph('Fleet: tenants by status', 'FleetTenants', cw.Stats.AVERAGE, FLEET_PERIOD, 12),
      searchGraph(
        'Fleet: tenants by blueprint version',
        'FleetTenantsByVersion',
        cw.Stats.AVERAGE,
        FLEET_PERIOD,
        12,
      ),
    );

    d.addWidgets(
      new cw.GraphWidget({
        title: 'Lambda errors by group',
        width: 12,
        left: groups.map((g) => lambdaSum(g.name, Object.entries(g.functions), 'Errors', g.name)),
      }),
      new cw.GraphWidget({
        title: 'Lambda throttles by group',
        width: 12,
        left: groups.map((g) => lambdaSum(g.name, Object.entries(g.functions), 'Throttles', g.name)),
      }),
    );
    d.addWidgets(
      new cw.GraphWidget({
        title: 'Database capacity',
        width: 8,
        left: [rdsMetric('ACUUtilization', cluster, 'ACU utilization (%)')],
        right: [rdsMetric('ServerlessDatabaseCapacity', cluster, 'ACUs')],
        leftYAxis: { min: 0, max: 100 },
      }),
      new cw.GraphWidget({
        title: 'Database CPU',
        width: 8,
        left: [rdsMetric('CPUUtilization', cluster, 'CPU (%)')],
        leftYAxis: { min: 0, max: 100 },
      }),
      new cw.GraphWidget({
        title: 'Schedule dead letters',
        width: 8,
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            statistic: cw.Stats.MAXIMUM,
            period: ALARM_PERIOD,
            label: 'Visible messages',
          }),
        ],
      }),
    );
  }
}

function deployed(workflows: TenantryMonitoringProps['workflows'], name: WorkflowName): MonitoredWorkflow {
  const workflow = workflows[name];
  if (!workflow) throw new Error(`the ${name} workflow is not deployed`);
  return workflow;
}

interface FunctionGroup {
  readonly name: string;
  /** Each function by name (a task state, a route id). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly errorThreshold: number;
}

interface AlarmSpec {
  readonly metric: cw.IMetric;
  readonly threshold: number;
  /** @default cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparison?: cw.ComparisonOperator;
  /** Consecutive breaching periods (of ALARM_PERIOD) that raise the alarm. @default 1 */
  readonly periods?: number;
  readonly description: string;
}

/** A catalogue metric with all its dimensions set. */
export function tenantryMetric<M extends MetricName>(
  name: M,
  dimensions: DimensionsOf<M>,
  options: cw.MetricOptions = {},
): cw.Metric {
  return new cw.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: dimensions as Record<string, string>,
    period: ALARM_PERIOD,
    ...options,
  });
}

/** `{Tenantry,dim1,dim2} MetricName="Name"`: every series of a catalogue metric, whatever its dimension values. */
export function searchTerm(name: MetricName): string {
  return `{${[METRICS_NAMESPACE, ...METRICS[name].dimensions].join(',')}} MetricName="${name}"`;
}

/**
 * A Metrics Insights query summing every series of a catalogue metric (optionally filtered on
 * dimension values) into one: `SELECT SUM("Name") FROM SCHEMA("Tenantry", "dim", ...)`.
 */
export function insightsQuery(name: MetricName, where: Readonly<Record<string, string>> = {}): string {
  const schema = [METRICS_NAMESPACE, ...METRICS[name].dimensions].map((s) => `"${s}"`).join(', ');
  const filters = Object.entries(where).map(([key, value]) => `"${key}" = '${value}'`);
  return `SELECT SUM("${name}") FROM SCHEMA(${schema})${filters.length > 0 ? ` WHERE ${filters.join(' AND ')}` : ''}`;
}

function insightsSum(name: MetricName, label: string, where?: Readonly<Record<string, string>>) {
  return new cw.MathExpression({ expression: insightsQuery(name, where), label, period: ALARM_PERIOD });
}

function searchGraph(
  title: string,
  name: MetricName,
  statistic: string,
  period: Duration,
  width: number,
): cw.GraphWidget {
  return new cw.GraphWidget({
    title,
    width,
    stacked: true,
    left: [
      new cw.SearchExpression({
        expression: `SEARCH('${searchTerm(name)}', '${statistic}', ${period.toSeconds()})`,
        label: '',
        period,
      }),
    ],
  });
}

/** `SUM([group0, group1, ...])` of one Lambda metric over some of a group's functions. */
function lambdaSum(
  group: string,
  functions: readonly (readonly [name: string, fn: lambda.IFunction])[],
  metric: 'Errors' | 'Throttles',
  label: string,
): cw.MathExpression {
  // Ids unique across groups, so one graph can hold every group's sum.
  const prefix = `${group.charAt(0).toLowerCase()}${group.slice(1)}`;
  const usingMetrics: Record<string, cw.IMetric> = {};
  functions.forEach(([name, fn], i) => {
    usingMetrics[`${prefix}${i}`] = fn.metric(metric, { statistic: cw.Stats.SUM, label: name });
  });
  return new cw.MathExpression({
    expression: `SUM([${Object.keys(usingMetrics).join(',')}])`,
    usingMetrics,
    label,
    period: ALARM_PERIOD,
  });
}

function rdsMetric(name: string, cluster: string, label?: string): cw.Metric {
  return new cw.Metric({
    namespace: 'AWS/RDS',
    metricName: name,
    dimensionsMap: { DBClusterIdentifier: cluster },
    statistic: cw.Stats.AVERAGE,
    period: ALARM_PERIOD,
    label,
  });
}

/** The cluster's identifier: the new cluster's, or the last part of an existing cluster's ARN. */
function clusterIdentifier(db: TenantryDatabase): string {
  if (db.cluster) return db.cluster.clusterIdentifier;
  const { resourceName } = Arn.split(db.clusterArn, ArnFormat.COLON_RESOURCE_NAME);
  if (!resourceName) throw new Error(`${db.node.path}: no cluster identifier in ${db.clusterArn}`);
  return resourceName;
}

/** The ARNs of this account's alarms in this region: `arn:…:cloudwatch:…:alarm:*`. */
function alarmArns(scope: Construct): string {
  return Stack.of(scope).formatArn({
    service: 'cloudwatch',
    resource: 'alarm',
    resourceName: '*',
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** Splits items into the fewest parts of at most `size`, their lengths differing by at most one. */
export function balancedChunks<T>(items: readonly T[], size: number): T[][] {
  if (items.length === 0) return [];
  const count = Math.ceil(items.length / size);
  const base = Math.floor(items.length / count);
  const longer = items.length % count;
  const parts: T[][] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const length = base + (i < longer ? 1 : 0);
    parts.push(items.slice(start, start + length));
    start += length;
  }
  return parts;
}
