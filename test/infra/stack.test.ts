import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_SECRET_ACTIONS } from '../../infra/constructs/database';
import { DATA_API_ACTIONS, TENANTRY_RUNTIME } from '../../infra/constructs/tenantry-function';
import { API_ROUTES } from '../../shared/api/route-table';
import { MIGRATE_WORKFLOW, PROVISION_WORKFLOW } from '../../statemachine/render';
import { RETRYABLE_ERRORS } from '../../statemachine/retry';
import {
  DEFAULT_TASK_TIMEOUT_SECONDS,
  DEPROVISION_TASKS,
  MIGRATE_STEPS,
  MIGRATE_TASKS,
  PROVISION_STEPS,
  PROVISION_TASKS,
  ROLLOUT_TASKS,
} from '../../statemachine/steps';
import {
  definitionParts,
  documentedOutputs,
  logicalId,
  missingHandlers,
  roleStatements,
  type Statement,
  type Synthesized,
  synthStack,
} from './synth';

const EXISTING = {
  clusterArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:tenants',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenants-admin-AbC123',
  databaseName: 'control',
};

type Asl = { StartAt: string; TimeoutSeconds: number; States: Record<string, Record<string, unknown>> };

describe('the Provision workflow handlers', () => {
  it('exist for every task state (NodejsFunction refuses a missing entry, even when not bundling)', () => {
    expect(missingHandlers()).toEqual([]);
  });
});

describe('TenantryStack with a new cluster', () => {
  let stack: Synthesized['stack'];
  let template: Synthesized['template'];
  let functions: Synthesized['stack']['provision']['functions'];
  beforeAll(() => {
    ({ stack, template } = synthStack());
    functions = stack.provision.functions;
  });
  const resolve = (value: unknown): unknown => stack.resolve(value);

  it('has one function per task state, named after the state', () => {
    // Plus one per API route (test/infra/api.test.ts), per Deprovision task (test/infra/deprovision.test.ts),
    // per Migrate and Rollout task, the reconciler (test/infra/reconciler.test.ts), and the database
    // logins' setup and its provider framework (test/infra/database-users.test.ts).
    template.resourceCountIs(
      'AWS::Lambda::Function',
      PROVISION_TASKS.length +
        API_ROUTES.length +
        DEPROVISION_TASKS.length +
        MIGRATE_TASKS.length +
        ROLLOUT_TASKS.length +
        1 +
        2,
    );
    expect(Object.keys(functions)).toEqual(PROVISION_TASKS.map((t) => t.state));
    for (const fn of Object.values(functions))
      expect(fn.node.path).toMatch(/^Tenantry\/Provision\/Functions\/\w+$/);
  });

  it('runs every function on the newest Node.js, arm64, traced, with source maps and the database env', () => {
    for (const task of PROVISION_TASKS) {
      const fn = functions[task.state];
      if (!fn) throw new Error(`no function for ${task.state}`);
      expect(template.toJSON().Resources[logicalId(fn)], task.state).toMatchObject({
        Type: 'AWS::Lambda::Function',
        Properties: {
          Runtime: TENANTRY_RUNTIME.name,
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          Handler: 'index.handler',
          Timeout: task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
          LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
          Environment: {
            Variables: {
              TENANTRY_DB_CLUSTER_ARN: resolve(stack.database.clusterArn),
              TENANTRY_DB_SECRET_ARN: resolve(stack.database.ownerSecret.secretArn),
              TENANTRY_DB_NAME: 'tenantry',
            },
          },
        },
      });
    }
  });

  it('has no function parse its source map at a cold start (no --enable-source-maps)', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
      Metadata?: Record<string, string>;
    }[];
    expect(functions.length).toBeGreaterThan(60);
    for (const fn of functions) {
      expect(String(fn.Properties.Environment?.Variables?.NODE_OPTIONS ?? '')).not.toContain('source-maps');
    }
  });

  it('gives every function its own log group, kept for a month, and no other log group to write to', () => {
    const resources = template.toJSON().Resources;
    for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      const group = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(resources[group], id).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
        DeletionPolicy: 'Delete',
      });
      const role = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      // No AWSLambdaBasicExecutionRole, which may write to any log group.
      expect(resources[role].Properties.ManagedPolicyArns, id).toBeUndefined();
      const logs = roleStatements(template, role).filter((s) => s.actions.some((a) => a.startsWith('logs:')));
      expect(logs, id).toEqual([
        {
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [{ 'Fn::GetAtt': [group, 'Arn'] }],
        },
      ]);
    }
  });

  it("grants each function only the Data API on its cluster and GetSecretValue on the owner login's secret, and a step its definition's login secrets", () => {
    const cluster = resolve(stack.database.clusterArn);
    const secret = resolve(stack.database.ownerSecret.secretArn);
    const loginSecrets = resolve(stack.database.tenantLoginSecretsArn);
    for (const task of PROVISION_TASKS) {
      const fn = functions[task.state];
      const role = resolve(fn?.role?.roleArn) as { 'Fn::GetAtt': [string, string] };
      const statements = roleStatements(template, role['Fn::GetAtt'][0]);
      expect(sorted(statements), task.state).toEqual(
        sorted([
          { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [expect.anything()] },
          { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] },
          { actions: [...DATA_API_ACTIONS].sort(), resources: [cluster] },
          { actions: ['secretsmanager:GetSecretValue'], resources: [secret] },
          ...(task.loginSecrets
            ? [{ actions: [...LOGIN_SECRET_ACTIONS[task.loginSecrets]].sort(), resources: [loginSecrets] }]
            : []),
          // A step that publishes events gets the bus (test/infra/tenantry.test.ts checks which).
          ...((task.publishes?.length ?? 0) > 0
            ? [
                {
                  actions: ['events:PutEvents'],
                  resources: [resolve(stack.deprovisioning.eventBus.eventBusArn)],
                },
              ]
            : []),
        ]),
      );
    }
  });

  it("lets CreateLogin write tenants' login secrets and Cleanup delete them, on the prefix only, and tells them where", () => {
    expect(PROVISION_TASKS.filter((t) => t.loginSecrets).map((t) => [t.state, t.loginSecrets])).toEqual([
      ['CreateLogin', 'write'],
      ['Cleanup', 'delete'],
    ]);
    expect(LOGIN_SECRET_ACTIONS).toEqual({
      write: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:TagResource'],
      delete: ['secretsmanager:DeleteSecret'],
    });
    expect(stack.database.tenantLoginSecretPrefix).toBe('tenantry/Tenantry/tenants/');
    expect(resolve(stack.database.tenantLoginSecretsArn)).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':secret:tenantry/Tenantry/tenants/*',
        ],
      ],
    });
    const env = (state: string) =>
      template.toJSON().Resources[logicalId(functions[state] as never)].Properties.Environment
        .Variables as Record<string, unknown>;
    expect(env('CreateLogin')).toMatchObject({
      TENANTRY_TENANT_LOGIN_SECRET_PREFIX: 'tenantry/Tenantry/tenants/',
      TENANTRY_TENANT_LOGIN_HOST: { 'Fn::GetAtt': [expect.any(String), 'Endpoint.Address'] },
      TENANTRY_TENANT_LOGIN_PORT: { 'Fn::GetAtt': [expect.any(String), 'Endpoint.Port'] },
    });
    expect(env('Cleanup')).toMatchObject({
      TENANTRY_TENANT_LOGIN_SECRET_PREFIX: 'tenantry/Tenantry/tenants/',
    });
    expect(env('Cleanup').TENANTRY_TENANT_LOGIN_HOST).toBeUndefined();
    for (const state of ['Validate', 'SyncTables', 'Register'])
      expect(env(state).TENANTRY_TENANT_LOGIN_SECRET_PREFIX, state).toBeUndefined();
  });

  it('lets the state machine invoke its own functions and nothing else', () => {
    const role = resolve(stack.provision.stateMachine.role.roleArn) as { 'Fn::GetAtt': [string, string] };
    const statements = roleStatements(template, role['Fn::GetAtt'][0]);
    const invoke = statements.filter((s) => s.actions.some((a) => a.startsWith('lambda:')));
    expect(invoke.flatMap((s) => s.actions)).toEqual(['lambda:InvokeFunction']);
    const allowed = Object.values(functions).flatMap((fn) => {
      const arn = { 'Fn::GetAtt': [logicalId(fn), 'Arn'] };
      return [arn, { 'Fn::Join': ['', [arn, ':*']] }];
    });
    expect(invoke.flatMap((s) => s.resources)).toEqual(expect.arrayContaining(allowed));
    expect(invoke.flatMap((s) => s.resources)).toHaveLength(allowed.length);
    // The rest is X-Ray and the log delivery, which have no resource-level permissions.
    const rest = statements.filter((s) => !invoke.includes(s));
    for (const s of rest) {
      expect(s.resources).toEqual(['*']);
      for (const action of s.actions) {
        expect(action).toMatch(
          /^(xray:|logs:(\w+LogDelivery|ListLogDeliveries|\w+ResourcePolic(y|ies)|DescribeLogGroups)$)/,
        );
      }
    }
  });

  describe('the Provision state machine', () => {
    /** The definition with every CloudFormation token (function ARNs, the partition) as `token`. */
    const definition = (): Asl => {
      const [separator, parts] = definitionParts(template, logicalId(stack.provision.stateMachine));
      return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'token')).join(separator));
    };

    it('logs everything, traces, and has an overall timeout', () => {
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 4);
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        LoggingConfiguration: {
          Level: 'ALL',
          IncludeExecutionData: true,
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
        },
        TracingConfiguration: { Enabled: true },
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/'),
        RetentionInDays: 30,
      });
      expect(definition().TimeoutSeconds).toBe(PROVISION_WORKFLOW.timeoutSeconds);
      expect(PROVISION_WORKFLOW.timeoutSeconds).toBe(Duration.minutes(30).toSeconds());
    });

    it('has every state by name', () => {
      const asl = definition();
      expect(asl.StartAt).toBe('Validate');
      expect(Object.keys(asl.States).sort()).toEqual(
        [
          'Validate',
          'CreateSchema',
          'SyncTables',
          'CreateIndexes',
          'RestoresBackup',
          'RestoreRows',
          'Seed',
          'UsesTemplate',
          'ApplySettings',
          'CreateAdminUser',
          'LoadInitialData',
          'Verify',
          'GetsLogin',
          'CreateLogin',
          'Register',
          'Cleanup',
          'Provisioned',
          'ProvisioningFailed',
        ].sort(),
      );
      expect(asl.States.Provisioned?.Type).toBe('Succeed');
      expect(asl.States.ProvisioningFailed?.Type).toBe('Fail');
      expect(asl.States.Cleanup).toMatchObject({ Type: 'Task', Next: 'ProvisioningFailed' });
    });

    it('retries only transient errors, with full jitter and a delay cap, and gives each task its Lambda timeout', () => {
      const asl = definition();
      for (const task of PROVISION_TASKS) {
        const state = asl.States[task.state];
        expect(state, task.state).toMatchObject({
          Type: 'Task',
          TimeoutSeconds: task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
          Retry: [
            {
              ErrorEquals: [...RETRYABLE_ERRORS],
              JitterStrategy: 'FULL',
              MaxDelaySeconds: 60,
              BackoffRate: 2,
              // Cleanup retries longer: a Cleanup that gives up leaves the tenant held.
              MaxAttempts: task.state === 'Cleanup' ? 20 : 12,
            },
          ],
        });
        expect(state?.Retry).toHaveLength(1);
        expect(JSON.stringify(state?.Retry)).not.toContain('States.ALL');
      }
    });

    it('catches States.ALL in every step and goes to Cleanup, keeping the error per step', () => {
      const asl = definition();
      for (const step of PROVISION_STEPS) {
        expect(asl.States[step.state]?.Catch, step.state).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: `$.failure.${step.state}`, Next: 'Cleanup' },
        ]);
      }
      expect(asl.States.Cleanup?.Catch).toBeUndefined();
    });
  });

  describe('the Migrate state machine', () => {
    const definition = (): Asl => {
      const [separator, parts] = definitionParts(template, logicalId(stack.migrate.stateMachine));
      return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'token')).join(separator));
    };

    it('is Validate -> Plan -> ApplyMigrations -> Verify -> Record, with its own functions and timeout', () => {
      const asl = definition();
      expect(asl.StartAt).toBe('Validate');
      const order: string[] = [];
      for (let at: string | undefined = asl.StartAt; at && asl.States[at]?.Type === 'Task'; ) {
        order.push(at);
        at = asl.States[at]?.Next as string | undefined;
      }
      expect(order).toEqual(['Validate', 'Plan', 'ApplyMigrations', 'Verify', 'Record']);
      expect(asl.States.Record?.Next).toBe('Migrated');
      expect(asl.States.Migrated?.Type).toBe('Succeed');
      expect(asl.States.Cleanup).toMatchObject({ Type: 'Task', Next: 'MigrationFailed' });
      expect(asl.States.MigrationFailed?.Type).toBe('Fail');
      expect(definition().TimeoutSeconds).toBe(MIGRATE_WORKFLOW.timeoutSeconds);
      expect(Object.keys(stack.migrate.functions)).toEqual(MIGRATE_TASKS.map((t) => t.state));
      for (const fn of Object.values(stack.migrate.functions))
        expect(fn.node.path).toMatch(/^Tenantry\/Migrate\/Functions\/\w+$/);
    });

    it('retries only transient errors (a lock timeout among them) and catches the rest into Cleanup', () => {
      const asl = definition();
      for (const task of MIGRATE_TASKS) {
        expect(asl.States[task.state], task.state).toMatchObject({
          TimeoutSeconds: task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
          Retry: [{ ErrorEquals: [...RETRYABLE_ERRORS], MaxAttempts: task.state === 'Cleanup' ? 20 : 12 }],
        });
      }
      expect(RETRYABLE_ERRORS).toContain('TransientDatabaseError');
      for (const step of MIGRATE_STEPS) {
        expect(asl.States[step.state]?.Catch, step.state).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: `$.failure.${step.state}`, Next: 'Cleanup' },
        ]);
      }
    });
  });

  describe('the Rollout state machine', () => {
    const definition = (): Asl => {
      const [separator, parts] = definitionParts(template, logicalId(stack.rollout.stateMachine));
      return JSON.parse(
        parts
          .map((p) => {
            if (typeof p === 'string') return p;
            const ref = (p as { Ref?: string }).Ref;
            if (ref === 'AWS::Partition') return 'aws';
            return ref === logicalId(stack.migrate.stateMachine) ? '<Migrate>' : 'token';
          })
          .join(separator),
      );
    };

    it('runs each wave as a Distributed Map of Migrate executions, its concurrency and tolerance from the input', () => {
      const wave = definition().States.Wave as Record<string, unknown>;
      expect(wave).toMatchObject({
        Type: 'Map',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          States: {
            MigrateTenant: {
              Resource: 'arn:aws:states:::states:startExecution.sync:2',
              Parameters: { StateMachineArn: '<Migrate>', 'Name.$': '$.name' },
            },
          },
        },
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: {
            'Bucket.$': '$.steps.NextWave.output.bucket',
            'Key.$': '$.steps.NextWave.output.key',
          },
        },
        MaxConcurrencyPath: '$.steps.Select.output.concurrency',
        ToleratedFailurePercentagePath: '$.steps.NextWave.output.toleratedFailurePercentage',
        ToleratedFailureCountPath: '$.steps.NextWave.output.toleratedFailureCount',
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'FinishWave' }],
      });
    });

    it('may start only the Migrate machine and read only the wave items under rollouts/', () => {
      const role = (
        stack.resolve(stack.rollout.stateMachine.role.roleArn) as { 'Fn::GetAtt': [string, string] }
      )['Fn::GetAtt'][0];
      const statements = roleStatements(template, role);
      const starts = statements.filter((s) => s.actions.includes('states:StartExecution'));
      // The Migrate machine, and itself: a Distributed Map runs its item processor as child executions.
      expect(starts.map((s) => s.resources)).toEqual([
        [{ Ref: logicalId(stack.migrate.stateMachine) }],
        [{ Ref: logicalId(stack.rollout.stateMachine) }],
      ]);
      const reads = statements.filter((s) => s.actions.some((a) => a.startsWith('s3:')));
      expect(reads.map((s) => [s.actions, JSON.stringify(s.resources)])).toEqual([
        [['s3:GetObject'], expect.stringContaining('/rollouts/*')],
      ]);
      for (const s of statements)
        expect(s.actions.join(), JSON.stringify(s)).not.toMatch(/^\*$|s3:\*|states:\*/);
      // NextWave writes the items there, and nothing else of the bucket.
      const nextWave = stack.rollout.functions.NextWave;
      if (!nextWave) throw new Error('no NextWave function');
      const fnRole = (stack.resolve(nextWave.role?.roleArn) as { 'Fn::GetAtt': [string, string] })[
        'Fn::GetAtt'
      ][0];
      const writes = roleStatements(template, fnRole).filter((s) => s.actions.includes('s3:PutObject'));
      expect(writes.map((s) => JSON.stringify(s.resources))).toEqual([
        expect.stringContaining('/rollouts/*'),
      ]);
    });
  });

  it('runs an encrypted Aurora Serverless v2 PostgreSQL cluster with the Data API', () => {
    template.resourceCountIs('AWS::RDS::DBCluster', 1);
    template.hasResource('AWS::RDS::DBCluster', {
      Properties: {
        Engine: 'aurora-postgresql',
        EngineVersion: Match.stringLikeRegexp('^16\\.'),
        EnableHttpEndpoint: true,
        StorageEncrypted: true,
        DeletionProtection: true,
        BackupRetentionPeriod: 7,
        DatabaseName: 'tenantry',
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      },
      DeletionPolicy: 'Snapshot',
    });
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      DBInstanceClass: 'db.serverless',
      PubliclyAccessible: false,
    });
    // The master's, and the owner and reader logins' (test/infra/database-users.test.ts).
    template.resourceCountIs('AWS::SecretsManager::Secret', 3);
  });

  it('keeps the cluster in isolated subnets without NAT or internet access', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::Route', 0);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { SecurityGroupIngress: Match.absent() });
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
  });

  it('outputs the state machine, cluster and secret ARNs', () => {
    template.hasOutput('ProvisionStateMachineArn', {
      Value: { Ref: logicalId(stack.provision.stateMachine) },
    });
    template.hasOutput('ClusterArn', { Value: resolve(stack.database.clusterArn) });
    template.hasOutput('SecretArn', { Value: resolve(stack.database.masterSecret.secretArn) });
    template.hasOutput('OwnerSecretArn', { Value: resolve(stack.database.ownerSecret.secretArn) });
    template.hasOutput('ReaderSecretArn', { Value: resolve(stack.database.readerSecret.secretArn) });
  });

  it('has the outputs infra/README.md lists, no more and no fewer', () => {
    expect(documentedOutputs().length).toBeGreaterThan(10);
    expect(Object.keys(template.toJSON().Outputs ?? {}).sort()).toEqual(documentedOutputs());
  });
});

describe('TenantryStack on an existing cluster', () => {
  let stack: Synthesized['stack'];
  let template: Synthesized['template'];
  beforeAll(() => {
    ({ stack, template } = synthStack({ database: { existing: EXISTING } }));
  });

  it('has the outputs infra/README.md lists as well', () => {
    expect(Object.keys(template.toJSON().Outputs ?? {}).sort()).toEqual(documentedOutputs());
  });

  it("creates no cluster, master secret or network; only the two logins' secrets", () => {
    for (const type of [
      'AWS::RDS::DBCluster',
      'AWS::RDS::DBInstance',
      'AWS::SecretsManager::SecretTargetAttachment',
      'AWS::EC2::VPC',
      'AWS::EC2::Subnet',
      'AWS::EC2::SecurityGroup',
    ]) {
      template.resourceCountIs(type, 0);
    }
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    for (const login of ['owner', 'readonly'])
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({
          SecretStringTemplate: JSON.stringify({ username: `control_${login}`, dbname: 'control' }),
        }),
      });
  });

  it('points every function at that cluster as the owner login and grants it nothing beyond', () => {
    // The API functions that use the registry are checked in test/infra/api.test.ts and
    // test/infra/database-users.test.ts; the master secret goes to the setup only.
    const owner = stack.resolve(stack.database.ownerSecret.secretArn);
    for (const fn of Object.values(stack.provision.functions)) {
      expect(template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables).toMatchObject({
        TENANTRY_DB_CLUSTER_ARN: EXISTING.clusterArn,
        TENANTRY_DB_SECRET_ARN: owner,
        TENANTRY_DB_NAME: EXISTING.databaseName,
      });
    }
    const loginSecrets = stack.resolve(stack.database.tenantLoginSecretsArn);
    for (const task of PROVISION_TASKS) {
      const fn = stack.provision.functions[task.state];
      const role = stack.resolve(fn?.role?.roleArn) as { 'Fn::GetAtt': [string, string] };
      const data = roleStatements(template, role['Fn::GetAtt'][0]).filter((s) =>
        s.actions.some((a) => a.startsWith('rds-data:') || a.startsWith('secretsmanager:')),
      );
      expect(sorted(data)).toEqual(
        sorted([
          { actions: [...DATA_API_ACTIONS].sort(), resources: [EXISTING.clusterArn] },
          { actions: ['secretsmanager:GetSecretValue'], resources: [owner] },
          ...(task.loginSecrets
            ? [{ actions: [...LOGIN_SECRET_ACTIONS[task.loginSecrets]].sort(), resources: [loginSecrets] }]
            : []),
        ]),
      );
    }
    // An existing cluster's endpoint is not known: the secret then has no host and port.
    const createLogin =
      template.toJSON().Resources[logicalId(stack.provision.functions.CreateLogin as never)];
    expect(createLogin.Properties.Environment.Variables.TENANTRY_TENANT_LOGIN_HOST).toBeUndefined();
    template.hasOutput('ClusterArn', { Value: EXISTING.clusterArn });
  });

  it('rejects ARNs that are not a cluster and a complete secret ARN, and options that shape a new cluster', () => {
    expect(() =>
      synthStack({
        database: {
          existing: { ...EXISTING, secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x' },
        },
      }),
    ).toThrow(/secretArn/);
    expect(() =>
      synthStack({
        database: { existing: { ...EXISTING, clusterArn: 'arn:aws:rds:eu-west-1:123456789012:db:x' } },
      }),
    ).toThrow(/clusterArn/);
    expect(() => synthStack({ database: { existing: EXISTING, minCapacity: 0 } })).toThrow(/minCapacity/);
  });
});

describe('TenantryStack with an auto-pausing cluster', () => {
  it('scales to zero after the idle time', () => {
    const { template } = synthStack({ database: { minCapacity: 0, maxCapacity: 2 } });
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2, SecondsUntilAutoPause: 600 },
    });
  });
});

function sorted(statements: Statement[]): Statement[] {
  const key = (s: Statement): string => JSON.stringify(s.actions);
  return [...statements]
    .map((s) => ({ ...s, actions: [...s.actions].sort() }))
    .sort((a, b) => key(a).localeCompare(key(b)));
}
