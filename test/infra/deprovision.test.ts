import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TenantryDatabase } from '../../infra/constructs/database';
import {
  BACKUP_RETENTION_TAG,
  TENANTRY_EVENT_SOURCE,
  TenantryDeprovisioning,
  type TenantryDeprovisioningProps,
} from '../../infra/constructs/deprovision';
import { TenantryFunction } from '../../infra/constructs/tenantry-function';
import { REPO_ROOT } from '../../infra/paths';
import { RETENTION_TAG } from '../../shared/blobs/port';
import { EVENT_SOURCE } from '../../shared/events/publisher';
import { DEPROVISION_WORKFLOW, localFunctionArn, renderAsl } from '../../statemachine/render';
import {
  DEPROVISION_BACKUP_CHOICE,
  DEPROVISION_FAILED_STATE,
  DEPROVISION_STEPS,
  DEPROVISION_SUCCEEDED_STATE,
  DEPROVISION_TASKS,
} from '../../statemachine/steps';
import { nagFindings, recordAcknowledgements } from './nag-findings';
import { definitionParts, logicalId, roleStatements, type Statement, testApp } from './synth';

const EXISTING = {
  clusterArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:tenants',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenants-admin-AbC123',
};

/** Statements every TenantryFunction has, whatever it is for. */
const BASE_ACTIONS = new Set([
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'xray:PutTelemetryRecords',
  'xray:PutTraceSegments',
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:ExecuteStatement',
  'rds-data:RollbackTransaction',
  'secretsmanager:GetSecretValue',
]);

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly database: TenantryDatabase;
  readonly deprovisioning: TenantryDeprovisioning;
  /** A stand-in for the API function that schedules deprovisionings. */
  readonly scheduling: TenantryFunction;
  /** A function that is given nothing. */
  readonly bystander: TenantryFunction;
}

function build(props: Partial<TenantryDeprovisioningProps> = {}): Built {
  const app = testApp();
  const stack = new Stack(app, 'Test');
  const database = new TenantryDatabase(stack, 'Database', { existing: EXISTING });
  const deprovisioning = new TenantryDeprovisioning(stack, 'Deprovisioning', { database, ...props });
  const entry = 'test/infra/fixtures/blueprint-names.ts';
  const scheduling = deprovisioning.allowScheduling(new TenantryFunction(stack, 'Scheduling', { entry }));
  const bystander = new TenantryFunction(stack, 'Bystander', { entry });
  return { app, stack, database, deprovisioning, scheduling, bystander };
}

function roleOf(stack: Stack, fn: TenantryFunction): string {
  const arn = stack.resolve(fn.role?.roleArn) as { 'Fn::GetAtt': [string, string] };
  return arn['Fn::GetAtt'][0];
}

/** The statements beyond what every TenantryFunction gets, with actions sorted. */
function extraStatements(template: Template, stack: Stack, fn: TenantryFunction): unknown[] {
  const raw = Object.values(
    template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: roleOf(stack, fn) }] },
    }),
  ) as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }[];
  return raw
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s) => ![s.Action].flat().every((a) => BASE_ACTIONS.has(a as string)))
    .map((s) => ({ ...s, Action: [s.Action].flat().sort() }));
}

describe('TenantryDeprovisioning', () => {
  let built: Built;
  let template: Template;
  let stack: Stack;
  let d: TenantryDeprovisioning;
  const fn = (state: string): TenantryFunction => {
    const f = d.workflow.functions[state];
    if (!f) throw new Error(`no ${state} function`);
    return f;
  };
  beforeAll(() => {
    built = build();
    ({ stack, deprovisioning: d } = built);
    template = Template.fromStack(stack);
  });
  const resolve = (value: unknown): unknown => stack.resolve(value);

  it('has a handler file for every Deprovision task state', () => {
    expect(
      DEPROVISION_TASKS.filter((t) => !existsSync(join(REPO_ROOT, t.entry))).map((t) => t.entry),
    ).toEqual([]);
  });

  it('agrees with the runtime on the retention tag and the event source', () => {
    expect(BACKUP_RETENTION_TAG).toBe(RETENTION_TAG);
    expect(TENANTRY_EVENT_SOURCE).toBe(EVENT_SOURCE);
  });

  describe('the Deprovision state machine', () => {
    type Asl = { StartAt: string; TimeoutSeconds: number; States: Record<string, Record<string, unknown>> };
    const definition = (): Asl => {
      const [separator, parts] = definitionParts(template);
      return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'token')).join(separator));
    };

    it('has a function per task state, each with the database', () => {
      expect(Object.keys(d.workflow.functions)).toEqual(DEPROVISION_TASKS.map((t) => t.state));
      for (const task of DEPROVISION_TASKS) {
        expect(template.toJSON().Resources[logicalId(fn(task.state))], task.state).toMatchObject({
          Properties: {
            TracingConfig: { Mode: 'Active' },
            Architectures: ['arm64'],
            Timeout: task.timeoutSeconds ?? 120,
            Environment: { Variables: { TENANTRY_DB_CLUSTER_ARN: EXISTING.clusterArn } },
          },
        });
      }
    });

    it('logs everything, traces, and has the workflow timeout', () => {
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        LoggingConfiguration: {
          Level: 'ALL',
          IncludeExecutionData: true,
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
        },
        TracingConfiguration: { Enabled: true },
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: '/aws/vendedlogs/states/Test-Deprovision',
        RetentionInDays: 30,
      });
      expect(definition().TimeoutSeconds).toBe(DEPROVISION_WORKFLOW.timeoutSeconds);
      expect(resolve(d.deprovisionStateMachine.stateMachineArn)).toEqual({
        Ref: logicalId(d.deprovisionStateMachine),
      });
    });

    it('has the seven steps, the Backup loop, Cleanup, Deprovisioned and DeprovisioningFailed', () => {
      const asl = definition();
      expect(DEPROVISION_STEPS).toHaveLength(7);
      expect(asl.StartAt).toBe('Validate');
      expect(Object.keys(asl.States).sort()).toEqual(
        [
          'Validate',
          'Disable',
          'Backup',
          DEPROVISION_BACKUP_CHOICE,
          'VerifyBackup',
          'Notify',
          'DropSchema',
          'Finalize',
          'Cleanup',
          DEPROVISION_SUCCEEDED_STATE,
          DEPROVISION_FAILED_STATE,
        ].sort(),
      );
      expect(asl.States.Deprovisioned?.Type).toBe('Succeed');
      expect(asl.States.DeprovisioningFailed?.Type).toBe('Fail');
      expect(asl.States.Cleanup).toMatchObject({ Type: 'Task', Next: 'DeprovisioningFailed' });
      // A backup too long for one invocation: Backup again until its output says done.
      expect(asl.States.Backup?.Next).toBe(DEPROVISION_BACKUP_CHOICE);
      expect(asl.States[DEPROVISION_BACKUP_CHOICE]).toEqual({
        Type: 'Choice',
        Comment: expect.any(String),
        Choices: [{ Variable: '$.steps.Backup.output.done', BooleanEquals: false, Next: 'Backup' }],
        Default: 'VerifyBackup',
      });
      for (const step of DEPROVISION_STEPS) {
        expect(asl.States[step.state]?.Catch, step.state).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: `$.failure.${step.state}`, Next: 'Cleanup' },
        ]);
      }
    });

    it('is the ASL the local engine renders, modulo function ARNs', () => {
      const byLogicalId = new Map(Object.entries(d.workflow.functions).map(([s, f]) => [logicalId(f), s]));
      const [separator, parts] = definitionParts(template);
      const deployed = parts
        .map((part) => {
          if (typeof part === 'string') return part;
          const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
          if (token.Ref === 'AWS::Partition') return 'aws';
          const state = byLogicalId.get(token['Fn::GetAtt']?.[0] ?? '');
          if (state && token['Fn::GetAtt']?.[1] === 'Arn') return `<fn:${state}>`;
          throw new Error(`unexpected token in the definition: ${JSON.stringify(part)}`);
        })
        .join(separator);
      let rendered = JSON.stringify(renderAsl(DEPROVISION_WORKFLOW));
      for (const task of DEPROVISION_TASKS) {
        rendered = rendered.replaceAll(localFunctionArn(task.state), `<fn:${task.state}>`);
      }
      expect(JSON.parse(deployed)).toEqual(JSON.parse(rendered));
      for (const task of DEPROVISION_TASKS) expect(deployed).toContain(`"FunctionName":"<fn:${task.state}>"`);
    });
  });

  describe('the backup bucket', () => {
    const bucketId = (): string => logicalId(d.backupBucket);
    const bucket = (): Record<string, unknown> => template.toJSON().Resources[bucketId()];

    it('is encrypted, private, versioned, logged and kept when the stack goes', () => {
      expect(bucket()).toMatchObject({
        Type: 'AWS::S3::Bucket',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          VersioningConfiguration: { Status: 'Enabled' },
          LoggingConfiguration: {
            DestinationBucketName: { Ref: logicalId(d.accessLogBucket) },
            LogFilePrefix: 'backup-bucket/',
          },
        },
      });
    });

    it('expires backups tagged expire after 30 days, never those tagged preserve, and old versions', () => {
      const rules = (
        bucket() as { Properties: { LifecycleConfiguration: { Rules: Record<string, unknown>[] } } }
      ).Properties.LifecycleConfiguration.Rules;
      expect(rules).toEqual([
        {
          Id: 'ExpireUnpreservedBackups',
          Status: 'Enabled',
          Prefix: 'backups/',
          TagFilters: [{ Key: 'tenantry-retention', Value: 'expire' }],
          ExpirationInDays: 30,
        },
        {
          Id: 'ExpireNoncurrentVersions',
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          ExpiredObjectDeleteMarker: true,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        },
      ]);
      // Every rule that deletes current objects needs the `expire` tag: `preserve` (or untagged) stays.
      const deleting = rules.filter((r) => 'ExpirationInDays' in r || 'ExpirationDate' in r);
      expect(deleting.map((r) => r.TagFilters)).toEqual([[{ Key: RETENTION_TAG, Value: 'expire' }]]);
    });

    it('refuses anything but TLS', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId() },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('logs to an encrypted, private bucket that only S3 log delivery for this bucket may write to', () => {
      const logs = logicalId(d.accessLogBucket);
      expect(template.toJSON().Resources[logs]).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: {
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          LifecycleConfiguration: { Rules: [{ ExpirationInDays: 365, Status: 'Enabled' }] },
        },
      });
      // A bucket policy, not the LogDeliveryWrite ACL.
      expect(template.toJSON().Resources[logs].Properties.AccessControl).toBeUndefined();
      const policy = Object.values(
        template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: logs } } }),
      )[0] as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } };
      const allows = policy.Properties.PolicyDocument.Statement.filter((s) => s.Effect === 'Allow');
      expect(allows).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logs, 'Arn'] }, '/backup-bucket/*']] },
          Condition: {
            ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId(), 'Arn'] } },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        },
      ]);
    });

    it('takes the expiry from backupExpiryDays and refuses nonsense', () => {
      const t = Template.fromStack(build({ backupExpiryDays: 90, noncurrentBackupExpiryDays: 7 }).stack);
      t.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({ Id: 'ExpireUnpreservedBackups', ExpirationInDays: 90 }),
            Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 7 } }),
          ],
        },
      });
      expect(() => build({ backupExpiryDays: 0 })).toThrow(/backupExpiryDays/);
      expect(() => build({ backupExpiryDays: 1.5 })).toThrow(/backupExpiryDays/);
    });
  });

  describe('grants', () => {
    const bucketArn = (): unknown => ({ 'Fn::GetAtt': [logicalId(d.backupBucket), 'Arn'] });
    const backupObjects = (): unknown => ({ 'Fn::Join': ['', [bucketArn(), '/backups/*']] });
    const listing = () => ({
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: bucketArn(),
      Condition: { StringLike: { 's3:prefix': ['backups/*'] } },
    });

    it('lets Backup read and write objects under backups/ only, and points it at the bucket', () => {
      expect(extraStatements(template, stack, fn('Backup'))).toEqual([
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
          Resource: backupObjects(),
        },
        listing(),
      ]);
    });

    it('lets VerifyBackup only read objects under backups/', () => {
      expect(extraStatements(template, stack, fn('VerifyBackup'))).toEqual([
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: backupObjects() },
        listing(),
      ]);
    });

    it('lets Disable and Notify (the steps that publish) only put tenantry events on the tenantry bus', () => {
      template.hasResourceProperties('AWS::Events::EventBus', { Name: 'tenantry' });
      for (const state of ['Disable', 'Notify']) {
        expect(extraStatements(template, stack, fn(state)), state).toEqual([
          {
            Effect: 'Allow',
            Action: ['events:PutEvents'],
            Resource: { 'Fn::GetAtt': [logicalId(d.eventBus), 'Arn'] },
            Condition: { StringEquals: { 'events:source': 'tenantry' } },
          },
        ]);
      }
    });

    it('gives the other steps nothing beyond the database', () => {
      for (const state of ['Validate', 'Finalize', 'Cleanup']) {
        expect(extraStatements(template, stack, fn(state)), state).toEqual([]);
      }
    });

    it("lets DropSchema delete tenants' login secrets, on their prefix only, and tells it the prefix", () => {
      expect(extraStatements(template, stack, fn('DropSchema'))).toEqual([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DeleteSecret'],
          Resource: resolve(built.database.tenantLoginSecretsArn),
        },
      ]);
      expect(JSON.stringify(resolve(built.database.tenantLoginSecretsArn))).toContain(
        ':secret:tenantry/Test/tenants/*',
      );
      for (const task of DEPROVISION_TASKS) {
        const vars = template.toJSON().Resources[logicalId(fn(task.state))].Properties.Environment.Variables;
        expect(vars.TENANTRY_TENANT_LOGIN_SECRET_PREFIX, task.state).toBe(
          task.state === 'DropSchema' ? 'tenantry/Test/tenants/' : undefined,
        );
      }
    });

    it('sets each env var exactly where the matching grant is', () => {
      const env = (f: TenantryFunction): Record<string, unknown> =>
        template.toJSON().Resources[logicalId(f)].Properties.Environment.Variables;
      for (const task of DEPROVISION_TASKS) {
        const vars = env(fn(task.state));
        expect('TENANTRY_BACKUP_BUCKET' in vars, task.state).toBe(
          ['Backup', 'VerifyBackup'].includes(task.state),
        );
        expect('TENANTRY_EVENT_BUS_NAME' in vars, task.state).toBe(
          ['Disable', 'Notify'].includes(task.state),
        );
        expect('TENANTRY_SCHEDULE_GROUP' in vars, task.state).toBe(false);
      }
      expect(env(fn('Backup')).TENANTRY_BACKUP_BUCKET).toEqual({ Ref: logicalId(d.backupBucket) });
      expect(env(fn('Notify')).TENANTRY_EVENT_BUS_NAME).toEqual({ Ref: logicalId(d.eventBus) });
    });
  });

  describe('scheduling', () => {
    it('has the schedule group', () => {
      template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
      template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'tenantry-deprovision' });
      expect(d.scheduleGroupName).toBe('tenantry-deprovision');
    });

    it('has a scheduler role only this account’s Deprovision schedules may assume', () => {
      const role = template.toJSON().Resources[logicalId(d.schedulerRole)];
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: {
              'aws:SourceAccount': { Ref: 'AWS::AccountId' },
              'aws:SourceArn': { 'Fn::GetAtt': [logicalId(d.scheduleGroup), 'Arn'] },
            },
          },
        },
      ]);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    });

    it('lets the scheduler role start the Deprovision state machine and send dead letters, nothing else', () => {
      const statements: Statement[] = roleStatements(template, logicalId(d.schedulerRole));
      expect(statements).toEqual([
        { actions: ['states:StartExecution'], resources: [{ Ref: logicalId(d.deprovisionStateMachine) }] },
        {
          actions: ['sqs:SendMessage'],
          resources: [{ 'Fn::GetAtt': [logicalId(d.deadLetterQueue), 'Arn'] }],
        },
      ]);
      expect(resolve(d.schedulerRoleArn)).toEqual({ 'Fn::GetAtt': [logicalId(d.schedulerRole), 'Arn'] });
    });

    it('has an encrypted, TLS-only dead-letter queue that keeps messages 14 days', () => {
      const queue = logicalId(d.deadLetterQueue);
      template.resourceCountIs('AWS::SQS::Queue', 1);
      expect(template.toJSON().Resources[queue].Properties).toEqual({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ],
        },
      });
      expect(resolve(d.deadLetterQueueArn)).toEqual({ 'Fn::GetAtt': [queue, 'Arn'] });
    });

    it('allowScheduling grants schedule actions in the group and PassRole on the scheduler role only', () => {
      expect(extraStatements(template, stack, built.scheduling)).toEqual([
        {
          Effect: 'Allow',
          Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:GetSchedule'],
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':scheduler:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':schedule/tenantry-deprovision/*',
              ],
            ],
          },
        },
        {
          Effect: 'Allow',
          Action: ['iam:PassRole'],
          Resource: { 'Fn::GetAtt': [logicalId(d.schedulerRole), 'Arn'] },
          Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        },
      ]);
      expect(extraStatements(template, stack, built.bystander)).toEqual([]);
    });

    it('allowScheduling sets the scheduling env vars in the same call', () => {
      const vars = template.toJSON().Resources[logicalId(built.scheduling)].Properties.Environment.Variables;
      expect(vars).toEqual({
        TENANTRY_SCHEDULE_GROUP: 'tenantry-deprovision',
        TENANTRY_SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [logicalId(d.schedulerRole), 'Arn'] },
        TENANTRY_SCHEDULER_DLQ_ARN: { 'Fn::GetAtt': [logicalId(d.deadLetterQueue), 'Arn'] },
        TENANTRY_DEPROVISION_STATE_MACHINE_ARN: { Ref: logicalId(d.deprovisionStateMachine) },
      });
    });

    it('names the bus and the group as asked', () => {
      const t = Template.fromStack(
        build({ eventBusName: 'acme-events', scheduleGroupName: 'acme-deprov' }).stack,
      );
      t.hasResourceProperties('AWS::Events::EventBus', { Name: 'acme-events' });
      t.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'acme-deprov' });
      const api = Object.values(t.findResources('AWS::Lambda::Function')).find(
        (f) => f.Properties.Environment?.Variables?.TENANTRY_SCHEDULE_GROUP,
      );
      expect(api?.Properties.Environment.Variables.TENANTRY_SCHEDULE_GROUP).toBe('acme-deprov');
      expect(JSON.stringify(t.toJSON())).toContain(':schedule/acme-deprov/*');
    });
  });
});

describe('cdk-nag AwsSolutions on TenantryDeprovisioning', () => {
  it('has no unacknowledged finding', () => {
    expect(nagFindings(build().app)).toEqual([]);
  });

  it('acknowledges only findings that exist, on the construct that has them', () => {
    // Record the acknowledgements instead of applying them, then check each against the findings.
    const { recorded, exists } = recordAcknowledgements(() => build().app);
    const mine = recorded.filter((r) => r.includes('Deprovisioning/') || r.includes(' at Test/Scheduling'));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.filter((r) => !exists(r))).toEqual([]);
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^AwsSolutions-SQS3 at Test\/Deprovisioning\/ScheduleDeadLetterQueue\/Resource$/,
        ),
        expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<\w+\.Arn>\/backups\/\*\] at .*\/BackupRole\//),
        expect.stringMatching(
          /^AwsSolutions-IAM5\[Resource::<\w+\.Arn>\/backups\/\*\] at .*\/VerifyBackupRole\//,
        ),
        expect.stringMatching(/schedule\/tenantry-deprovision\/\*\] at Test\/SchedulingRole\/DefaultPolicy$/),
      ]),
    );
  });
});
