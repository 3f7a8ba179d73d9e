import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { DEPROVISION_WORKFLOW } from '../../statemachine/render';
import type { TenantryDatabase } from './database';
import type { TenantryFunction } from './tenantry-function';
import { TenantryWorkflow } from './workflow';

/** Every backup object lives under this prefix; the functions may touch nothing else in the bucket. */
export const BACKUP_PREFIX = 'backups/';
/** The tag the Backup step puts on every object (shared/blobs/port.ts `RETENTION_TAG`). */
export const BACKUP_RETENTION_TAG = 'tenantry-retention';
/** The `Source` of the events Notify publishes (shared/events/publisher.ts `EVENT_SOURCE`). */
export const TENANTRY_EVENT_SOURCE = 'tenantry';

export const DEFAULT_EVENT_BUS_NAME = 'tenantry';
export const DEFAULT_SCHEDULE_GROUP_NAME = 'tenantry-deprovision';

/** What a scheduling function may do with schedules, on the Deprovision group's schedules only. */
export const SCHEDULING_ACTIONS = [
  'scheduler:CreateSchedule',
  'scheduler:DeleteSchedule',
  'scheduler:GetSchedule',
] as const;

/** The bucket access each kind of backup user gets, on `backups/*` (and listing under `backups/`) only. */
export const BACKUP_OBJECT_ACTIONS = {
  read: ['s3:GetObject'],
  readWrite: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
} as const;
export type BackupAccess = keyof typeof BACKUP_OBJECT_ACTIONS;

export interface TenantryDeprovisioningProps {
  /** The database the Deprovision tasks read, back up and drop tenant schemas in. */
  readonly database: TenantryDatabase;
  /** How long function and execution logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Days before a backup tagged `tenantry-retention=expire` (no `preserveBackups`) is deleted. @default 30 */
  readonly backupExpiryDays?: number;
  /** Days an overwritten or deleted backup object version is kept. @default - `backupExpiryDays` */
  readonly noncurrentBackupExpiryDays?: number;
  /** Days the backup bucket's server access logs are kept. @default 365 */
  readonly accessLogExpiryDays?: number;
  /** What happens to the backup and access-log buckets when they leave the stack. @default RemovalPolicy.RETAIN */
  readonly bucketRemovalPolicy?: RemovalPolicy;
  /** The EventBridge bus TenantDeprovisioned goes to. @default 'tenantry' */
  readonly eventBusName?: string;
  /** The schedule group one-time deprovisioning schedules are created in. @default 'tenantry-deprovision' */
  readonly scheduleGroupName?: string;
  /** How long a schedule that could not start its execution stays in the dead-letter queue (at most 14 days). @default Duration.days(14) */
  readonly scheduleDeadLetterRetention?: Duration;
  /**
   * The blueprints every function's bundle carries (TenantryFunction `blueprintsDir`).
   * @default - the blueprints shipped with Tenantry (shared/blueprints)
   */
  readonly blueprintsDir?: string;
}

/**
 * The AWS side of deprovisioning: the Deprovision workflow (a TenantryFunction per task and its
 * state machine), the backup bucket its Backup and VerifyBackup steps use, the event bus Notify
 * publishes TenantDeprovisioned to, and what EventBridge Scheduler needs to start a deprovisioning
 * later: a schedule group, an execution role that may only start this state machine, and a
 * dead-letter queue. `allowScheduling` lets a function (the API) create those schedules.
 */
export class TenantryDeprovisioning extends Construct {
  public readonly workflow: TenantryWorkflow;
  public readonly deprovisionStateMachine: sfn.StateMachine;
  /** Backups under `backups/<tenant>/<execution>/`, expired by tag. */
  public readonly backupBucket: s3.Bucket;
  /** Server access logs of the backup bucket. */
  public readonly accessLogBucket: s3.Bucket;
  public readonly eventBus: events.EventBus;
  public readonly scheduleGroup: scheduler.ScheduleGroup;
  public readonly scheduleGroupName: string;
  /** The role EventBridge Scheduler assumes: `states:StartExecution` on the Deprovision state machine, `sqs:SendMessage` on the dead-letter queue. */
  public readonly schedulerRole: iam.Role;
  public readonly schedulerRoleArn: string;
  /** Where a schedule's event goes when it cannot start the execution after its retries. */
  public readonly deadLetterQueue: sqs.Queue;
  public readonly deadLetterQueueArn: string;

  constructor(scope: Construct, id: string, props: TenantryDeprovisioningProps) {
    super(scope, id);
    // Log delivery to the access-log bucket through a bucket policy, not the legacy
    // LogDeliveryWrite ACL; set here, before any child exists, so it holds whatever cdk.json says.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    const backupExpiryDays = days(props.backupExpiryDays ?? 30, 'backupExpiryDays');
    const noncurrentDays = days(
      props.noncurrentBackupExpiryDays ?? backupExpiryDays,
      'noncurrentBackupExpiryDays',
    );
    const accessLogDays = days(props.accessLogExpiryDays ?? 365, 'accessLogExpiryDays');
    const removalPolicy = props.bucketRemovalPolicy ?? RemovalPolicy.RETAIN;

    this.workflow = new TenantryWorkflow(this, DEPROVISION_WORKFLOW.name, {
      workflow: DEPROVISION_WORKFLOW,
      database: props.database,
      logRetention: props.logRetention,
      blueprintsDir: props.blueprintsDir,
    });
    this.deprovisionStateMachine = this.workflow.stateMachine;

    // Server access logs must go to an SSE-S3 bucket. As a log target it needs no logging itself
    // (cdk-nag S1 knows this), and it gets its writes from logging.s3.amazonaws.com only.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(accessLogDays) }],
      removalPolicy,
    });

    this.backupBucket = new s3.Bucket(this, 'BackupBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'backup-bucket/',
      lifecycleRules: [
        {
          // Backups of tenants deprovisioned without preserveBackups. Objects tagged `preserve`
          // match no expiration rule and stay until someone deletes them.
          id: 'ExpireUnpreservedBackups',
          prefix: BACKUP_PREFIX,
          tagFilters: { [BACKUP_RETENTION_TAG]: 'expire' },
          expiration: Duration.days(backupExpiryDays),
        },
        {
          // Overwritten (a retried Backup) and expired versions, for every object.
          id: 'ExpireNoncurrentVersions',
          noncurrentVersionExpiration: Duration.days(noncurrentDays),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy,
    });

    this.eventBus = new events.EventBus(this, 'EventBus', {
      eventBusName: props.eventBusName ?? DEFAULT_EVENT_BUS_NAME,
      description: 'Tenantry domain events, e.g. TenantDeprovisioned',
    });

    const functions = this.workflow.functions;
    this.useBackupBucket(required(functions, 'Backup'), 'readWrite');
    this.useBackupBucket(required(functions, 'VerifyBackup'), 'read');
    for (const fn of this.workflow.publishers) this.useEventBus(fn);

    this.scheduleGroupName = props.scheduleGroupName ?? DEFAULT_SCHEDULE_GROUP_NAME;
    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: this.scheduleGroupName,
      // Pending deprovisionings cannot run without this stack's state machine anyway.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      // SSE-SQS: the scheduler role needs no KMS permissions to send.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.scheduleDeadLetterRetention ?? Duration.days(14),
    });
    Validations.of(this.deadLetterQueue.node.defaultChild as sqs.CfnQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue: EventBridge Scheduler sends it the schedules that could not ' +
        'start a Deprovision execution. A dead-letter queue of a dead-letter queue would only move the same messages.',
    });
    this.deadLetterQueueArn = this.deadLetterQueue.queueArn;

    const stack = Stack.of(this);
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: `EventBridge Scheduler starts ${this.node.path}/${DEPROVISION_WORKFLOW.name} with this role`,
      // Confused-deputy protection: only schedules of this account's Deprovision group.
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': this.scheduleGroup.scheduleGroupArn,
          },
        },
      }),
    });
    this.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [this.deprovisionStateMachine.stateMachineArn],
      }),
    );
    // The scheduler delivers dead letters as the execution role.
    this.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
    this.schedulerRoleArn = this.schedulerRole.roleArn;
  }

  /**
   * Points a function at the backup bucket and grants it, in one call, the object actions of
   * `access` on `backups/*` and `s3:ListBucket` for prefixes under `backups/` (without it a missing
   * key reads as AccessDenied rather than NoSuchKey). Sets `TENANTRY_BACKUP_BUCKET`.
   */
  public useBackupBucket(
    fn: TenantryFunction,
    access: BackupAccess,
    prefix: string = BACKUP_PREFIX,
  ): TenantryFunction {
    fn.addEnvironment('TENANTRY_BACKUP_BUCKET', this.backupBucket.bucketName);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...BACKUP_OBJECT_ACTIONS[access]],
        resources: [this.backupBucket.arnForObjects(`${prefix}*`)],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.backupBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
    acknowledge(fn, {
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.backupBucket)}.Arn>/${prefix}*]`,
      reason: `${BACKUP_OBJECT_ACTIONS[access].join(', ')} on the objects under ${prefix} of the backup bucket only: keys name the tenant (or rollout) and execution, unknown in advance.`,
    });
    return fn;
  }

  /**
   * Points a function at the event bus and grants it `events:PutEvents` on that bus only, for
   * events whose source is `tenantry`. Sets `TENANTRY_EVENT_BUS_NAME`.
   */
  public useEventBus(fn: TenantryFunction): TenantryFunction {
    fn.addEnvironment('TENANTRY_EVENT_BUS_NAME', this.eventBus.eventBusName);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [this.eventBus.eventBusArn],
        conditions: { StringEquals: { 'events:source': TENANTRY_EVENT_SOURCE } },
      }),
    );
    return fn;
  }

  /**
   * Lets a function (the API) schedule deprovisionings, in one call: `scheduler:CreateSchedule`,
   * `DeleteSchedule` and `GetSchedule` on the schedules of the Deprovision group only, and
   * `iam:PassRole` on the scheduler role only, to EventBridge Scheduler only. Sets
   * `TENANTRY_SCHEDULE_GROUP`, `TENANTRY_SCHEDULER_ROLE_ARN`, `TENANTRY_SCHEDULER_DLQ_ARN` and
   * `TENANTRY_DEPROVISION_STATE_MACHINE_ARN` (the schedules' target).
   */
  public allowScheduling(fn: TenantryFunction): TenantryFunction {
    fn.addEnvironment('TENANTRY_SCHEDULE_GROUP', this.scheduleGroupName);
    fn.addEnvironment('TENANTRY_SCHEDULER_ROLE_ARN', this.schedulerRoleArn);
    fn.addEnvironment('TENANTRY_SCHEDULER_DLQ_ARN', this.deadLetterQueueArn);
    fn.addEnvironment('TENANTRY_DEPROVISION_STATE_MACHINE_ARN', this.deprovisionStateMachine.stateMachineArn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...SCHEDULING_ACTIONS],
        resources: [this.schedulesArn('*')],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.schedulerRoleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    // As cdk-nag prints the ARN: unresolved tokens as `<Name>`, a stack's concrete region or account as is.
    const stack = Stack.of(this);
    const shown = (value: string, token: string) => (Token.isUnresolved(value) ? `<${token}>` : value);
    acknowledge(fn, {
      id: `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'AWS::Partition')}:scheduler:${shown(stack.region, 'AWS::Region')}:${shown(stack.account, 'AWS::AccountId')}:schedule/${this.scheduleGroupName}/*]`,
      reason: `${SCHEDULING_ACTIONS.join(', ')} on the schedules of the ${this.scheduleGroupName} group only: each schedule is named after the tenant it deprovisions.`,
    });
    return fn;
  }

  /** `arn:…:scheduler:…:schedule/<group>/<name>` */
  private schedulesArn(name: string): string {
    return Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroupName}/${name}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }
}

function required(functions: Readonly<Record<string, TenantryFunction>>, state: string): TenantryFunction {
  const fn = functions[state];
  if (!fn) throw new Error(`the Deprovision workflow has no ${state} function`);
  return fn;
}

function days(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${what} must be a whole number of days, at least 1`);
  return value;
}

function acknowledge(fn: TenantryFunction, finding: { id: string; reason: string }): void {
  Validations.of(fn.role?.node.tryFindChild('DefaultPolicy') ?? fn).acknowledge(finding);
}

function logicalIdOf(bucket: s3.Bucket): string {
  return Stack.of(bucket).getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
}
