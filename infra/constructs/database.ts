import { join } from 'node:path';
import {
  ArnFormat,
  CustomResource,
  Duration,
  FileSystem,
  RemovalPolicy,
  Stack,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { SECRET_NAME_PREFIX } from '../../shared/config';
import type { LoginSecretAccess } from '../../shared/workflows';
import { CONTROL_SQL_DIR, REPO_ROOT } from '../paths';
import { DATA_API_ACTIONS, TenantryFunction } from './tenantry-function';

/** An Aurora PostgreSQL cluster that already exists, reached through its Data API. */
export interface ExistingDatabaseProps {
  /** The cluster's ARN (`arn:aws:rds:<region>:<account>:cluster:<id>`); its Data API must be enabled. */
  readonly clusterArn: string;
  /**
   * The complete ARN (with its six-character suffix) of a secret holding the master (admin) user's
   * credentials. Only the deploy-time setup reads it, to make the reader and owner logins.
   */
  readonly secretArn: string;
  /** @default 'tenantry' */
  readonly databaseName?: string;
}

export interface TenantryDatabaseProps {
  /**
   * Use this cluster instead of creating one. No VPC, cluster or secret is created, and the options
   * below that shape a new cluster must be left unset.
   * @default - a new Aurora Serverless v2 cluster
   */
  readonly existing?: ExistingDatabaseProps;
  /** The database the control plane and the tenant schemas live in. @default 'tenantry' */
  readonly databaseName?: string;
  /** Lowest capacity in ACUs; 0 lets the cluster pause when idle (the first call after a pause fails with a transient error and is retried). @default 0.5 */
  readonly minCapacity?: number;
  /** @default 4 */
  readonly maxCapacity?: number;
  /** Idle time before a cluster with `minCapacity: 0` pauses. @default Duration.minutes(10) */
  readonly autoPauseAfter?: Duration;
  /** @default true */
  readonly deletionProtection?: boolean;
  /** @default Duration.days(7) */
  readonly backupRetention?: Duration;
  /** What happens to the cluster when it leaves the stack. @default RemovalPolicy.SNAPSHOT */
  readonly removalPolicy?: RemovalPolicy;
  /** Retention of the VPC flow logs. @default logs.RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * The blueprints the setup function's bundle carries, like every TenantryFunction's (it reads
   * none; the same folder everywhere keeps one rule). Allowed with `existing`.
   * @default - the blueprints shipped with Tenantry (shared/blueprints)
   */
  readonly blueprintsDir?: string;
  /**
   * The name prefix of the Secrets Manager secrets that hold tenants' own login passwords (one per
   * tenant, `<prefix><tenant id>/login`, made at run time by Provision's CreateLogin): the only
   * secrets `useTenantLoginSecrets` lets a function touch. Letters, digits and `/_+=.@-`. Allowed
   * with `existing`. @default `tenantry/<stack name>/tenants/`
   */
  readonly tenantLoginSecretPrefix?: string;
}

/** What each kind of access to tenants' login secrets may do, on those secrets only. */
export const LOGIN_SECRET_ACTIONS: Readonly<Record<LoginSecretAccess, readonly string[]>> = {
  // CreateSecret with Tags needs TagResource too.
  write: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:TagResource'],
  delete: ['secretsmanager:DeleteSecret'],
};

export const DEFAULT_DATABASE_NAME = 'tenantry';
/** The runtime database logins: `owner` writes (it owns the schemas), `reader` only reads the control schema. */
export type DatabaseLogin = 'owner' | 'reader';
/** A login's username: the database's name and its purpose, so two databases of one cluster never share a login. */
export const loginUsername = (databaseName: string, login: DatabaseLogin): string =>
  `${databaseName}_${login === 'owner' ? 'owner' : 'readonly'}`;
/** The entry of the deploy-time setup's handler. */
export const DATABASE_SETUP_ENTRY = 'functions/setup/database-users.ts';
export const AURORA_POSTGRES_VERSION = rds.AuroraPostgresEngineVersion.VER_16_13;
const ADMIN_USER = 'tenantry_admin';
/** The props that do not shape a new cluster, so they go with `existing` too. */
const NOT_SHAPING: ReadonlySet<string> = new Set(['existing', 'blueprintsDir', 'tenantLoginSecretPrefix']);
const CLUSTER_ARN = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[A-Za-z][A-Za-z0-9-]*$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/**
 * Where tenant schemas live: an Aurora PostgreSQL cluster reached only through the RDS Data API.
 * Either creates an Aurora Serverless v2 cluster in a VPC of isolated subnets (the functions call
 * the Data API over HTTPS and are not in the VPC, so there is no NAT), or imports an existing one.
 *
 * Least privilege in the database: two runtime logins, each with a generated secret of its own, the
 * `owner` (workflow steps, writing API routes, reconciler: it owns the control schema and the tenant
 * schemas) and the `reader` (read-only API routes: it may only read the control schema). A
 * deploy-time setup (a custom resource, `functions/setup/database-users.ts`) makes or updates them
 * with the master secret, which no runtime function is granted.
 */
export class TenantryDatabase extends Construct {
  public readonly clusterArn: string;
  /**
   * The master (admin) user's secret: the cluster's generated one, or the `existing` one. Only the
   * deploy-time setup may read it; the runtime functions use `ownerSecret` or `readerSecret`.
   */
  public readonly masterSecret: secretsmanager.ISecret;
  /** The owner login's secret (`<database>_owner`): the workflow steps, the writing routes, the reconciler. */
  public readonly ownerSecret: secretsmanager.ISecret;
  /** The reader login's secret (`<database>_readonly`, a member of `tenantry_reader`): the read-only routes. */
  public readonly readerSecret: secretsmanager.ISecret;
  public readonly databaseName: string;
  /** The cluster this construct created. @default - undefined for an imported cluster */
  public readonly cluster?: rds.DatabaseCluster;
  /** The deploy-time setup's custom resource: every function that uses the database depends on it. */
  public readonly setup: CustomResource;
  /** The setup's handler, the one function granted the master secret. */
  public readonly setupFunction: TenantryFunction;
  /** The name prefix of tenants' login secrets (`tenantLoginSecretPrefix`). */
  public readonly tenantLoginSecretPrefix: string;
  /** `arn:…:secretsmanager:…:secret:<prefix>*`: every tenant login secret, and no other secret. */
  public readonly tenantLoginSecretsArn: string;

  constructor(scope: Construct, id: string, props: TenantryDatabaseProps = {}) {
    super(scope, id);
    const { existing } = props;
    if (existing) {
      const shaping = Object.entries(props).filter(
        ([key, value]) => !NOT_SHAPING.has(key) && value !== undefined,
      );
      if (shaping.length > 0) {
        throw new Error(
          `${this.node.path}: ${shaping.map(([k]) => k).join(', ')} cannot shape an existing cluster`,
        );
      }
      check(existing.clusterArn, CLUSTER_ARN, 'clusterArn');
      check(existing.secretArn, SECRET_ARN, 'secretArn (the complete ARN, with its six-character suffix)');
      this.clusterArn = existing.clusterArn;
      this.masterSecret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', existing.secretArn);
      this.databaseName = existing.databaseName ?? DEFAULT_DATABASE_NAME;
    } else {
      this.databaseName = props.databaseName ?? DEFAULT_DATABASE_NAME;
      this.cluster = this.newCluster(props);
      const secret = this.cluster.secret;
      if (!secret) throw new Error(`${this.node.path}: the cluster has no generated secret`);
      this.masterSecret = secret;
      this.clusterArn = this.cluster.clusterArn;
    }

    this.tenantLoginSecretPrefix =
      props.tenantLoginSecretPrefix ?? `tenantry/${Stack.of(this).stackName}/tenants/`;
    if (
      !Token.isUnresolved(this.tenantLoginSecretPrefix) &&
      !SECRET_NAME_PREFIX.test(this.tenantLoginSecretPrefix)
    )
      throw new Error(
        `${this.node.path}: tenantLoginSecretPrefix must be 1-400 letters, digits and /_+=.@- (a Secrets Manager name prefix): ${this.tenantLoginSecretPrefix}`,
      );
    this.tenantLoginSecretsArn = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.tenantLoginSecretPrefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.ownerSecret = this.loginSecret('owner');
    this.readerSecret = this.loginSecret('reader');
    ({ setup: this.setup, setupFunction: this.setupFunction } = this.setUpLogins(props.blueprintsDir));
  }

  /** The secret of a runtime login. */
  public secretFor(login: DatabaseLogin): secretsmanager.ISecret {
    return login === 'owner' ? this.ownerSecret : this.readerSecret;
  }

  /**
   * Lets a function touch tenants' login secrets (shared/tenant-login/) and tells it where they
   * are, in one call: the actions of `access` (`write`: CreateSecret, PutSecretValue, TagResource;
   * `delete`: DeleteSecret) on the secrets named under `tenantLoginSecretPrefix` only, and
   * `TENANTRY_TENANT_LOGIN_SECRET_PREFIX`; for `write`, the cluster's endpoint
   * (`TENANTRY_TENANT_LOGIN_HOST`, `_PORT`) when this construct made it, for the secret's `host`
   * and `port`. The secrets use the account's `aws/secretsmanager` key, which needs no KMS grant.
   */
  public useTenantLoginSecrets(fn: TenantryFunction, access: LoginSecretAccess): TenantryFunction {
    fn.addEnvironment('TENANTRY_TENANT_LOGIN_SECRET_PREFIX', this.tenantLoginSecretPrefix);
    if (access === 'write' && this.cluster) {
      fn.addEnvironment('TENANTRY_TENANT_LOGIN_HOST', this.cluster.clusterEndpoint.hostname);
      fn.addEnvironment('TENANTRY_TENANT_LOGIN_PORT', Token.asString(this.cluster.clusterEndpoint.port));
    }
    const stack = Stack.of(this);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [...LOGIN_SECRET_ACTIONS[access]],
        resources: [this.tenantLoginSecretsArn],
      }),
    );
    // As cdk-nag prints the ARN: unresolved tokens as `<Name>`, a stack's concrete values as they are.
    const shown = (value: string, token: string) => (Token.isUnresolved(value) ? `<${token}>` : value);
    Validations.of(fn.role?.node.tryFindChild('DefaultPolicy') ?? fn).acknowledge({
      id:
        `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'AWS::Partition')}:secretsmanager:` +
        `${shown(stack.region, 'AWS::Region')}:${shown(stack.account, 'AWS::AccountId')}:secret:${this.tenantLoginSecretPrefix}*]`,
      reason:
        `${LOGIN_SECRET_ACTIONS[access].join(', ')} on the tenants' login secrets only (names under ` +
        `${this.tenantLoginSecretPrefix}): each is named after its tenant, unknown in advance.`,
    });
    return fn;
  }

  private newCluster(props: TenantryDatabaseProps): rds.DatabaseCluster {
    const minCapacity = props.minCapacity ?? 0.5;

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogs', {
          retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
    });

    const cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: AURORA_POSTGRES_VERSION }),
      writer: rds.ClusterInstance.serverlessV2('Writer', { publiclyAccessible: false }),
      serverlessV2MinCapacity: minCapacity,
      serverlessV2MaxCapacity: props.maxCapacity ?? 4,
      ...(minCapacity === 0 && {
        serverlessV2AutoPauseDuration: props.autoPauseAfter ?? Duration.minutes(10),
      }),
      credentials: rds.Credentials.fromGeneratedSecret(ADMIN_USER),
      defaultDatabaseName: this.databaseName,
      enableDataApi: true,
      iamAuthentication: true,
      storageEncrypted: true,
      deletionProtection: props.deletionProtection ?? true,
      backup: { retention: props.backupRetention ?? Duration.days(7) },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.SNAPSHOT,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    // `cluster.secret` is the secret's attachment; the finding is on the generated secret itself.
    Validations.of(cluster.node.findChild('Secret')).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating this secret needs a rotation Lambda inside the VPC plus a Secrets Manager endpoint, which ' +
        'this NAT-less, isolated VPC deliberately lacks; only the Data API reads the secret, on behalf of ' +
        'IAM principals granted GetSecretValue on it alone (the deploy-time setup).',
    });
    return cluster;
  }

  /** A runtime login's generated secret, attached to the cluster when this construct made it. */
  private loginSecret(login: DatabaseLogin): secretsmanager.ISecret {
    const username = loginUsername(this.databaseName, login);
    if (!Token.isUnresolved(username) && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(username))
      throw new Error(
        `${this.node.path}: the ${login} login ${username} is not a valid PostgreSQL role name`,
      );
    const secret = new rds.DatabaseSecret(this, login === 'owner' ? 'OwnerSecret' : 'ReaderSecret', {
      username,
      dbname: this.databaseName,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        `The ${login} login's password is set in the database by the deploy-time setup, from this secret. ` +
        'A rotation Lambda would need a network path to the cluster (the VPC has no NAT and no Secrets Manager ' +
        'endpoint; the functions reach it only through the Data API); only the Data API reads the secret, on ' +
        'behalf of the functions granted GetSecretValue on it alone.',
    });
    return this.cluster ? secret.attach(this.cluster) : secret;
  }

  /**
   * The deploy-time setup: a custom resource whose handler, with the master secret and the Data
   * API, makes or updates the two logins from their secrets, hands the owner the schemas the
   * master made, and applies the control schema as the owner (shared/registry/database-users.ts).
   * It runs again whenever the control SQL or the setup changes (`Fingerprint`), or a secret is
   * replaced. Delete leaves roles and data alone.
   */
  private setUpLogins(blueprintsDir: string | undefined): {
    setup: CustomResource;
    setupFunction: TenantryFunction;
  } {
    const scope = new Construct(this, 'Logins');
    const setupFunction = new TenantryFunction(scope, 'Setup', {
      entry: DATABASE_SETUP_ENTRY,
      description:
        'Deploy-time setup: the reader and owner database logins, the control schema owned by the owner',
      // A hand-over of thousands of tenant schemas, once; otherwise seconds.
      timeout: Duration.minutes(15),
      blueprintsDir,
    });
    setupFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...DATA_API_ACTIONS], resources: [this.clusterArn] }),
    );
    // The master to act with; the logins' to read their passwords, and for the Data API to check them.
    setupFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.masterSecret.secretArn, this.ownerSecret.secretArn, this.readerSecret.secretArn],
      }),
    );

    // The provider framework's function, shaped like a TenantryFunction: its own log group and a
    // role that may write only there (no AWSLambdaBasicExecutionRole) and invoke the setup.
    const frameworkLogs = new logs.LogGroup(scope, 'ProviderLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const frameworkRole = new iam.Role(scope, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the custom resource provider of ${this.node.path}/Logins`,
    });
    frameworkLogs.grantWrite(frameworkRole);
    const provider = new cr.Provider(scope, 'Provider', {
      onEventHandler: setupFunction,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogs,
    });
    const stack = Stack.of(this);
    Validations.of(frameworkRole.node.tryFindChild('DefaultPolicy') ?? frameworkRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(setupFunction.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason:
        'lambda:InvokeFunction on the setup function and its versions only (what the provider framework grants).',
    });

    const setup = new CustomResource(scope, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::TenantryDatabaseLogins',
      properties: {
        ClusterArn: this.clusterArn,
        Database: this.databaseName,
        MasterSecretArn: this.masterSecret.secretArn,
        OwnerSecretArn: this.ownerSecret.secretArn,
        ReaderSecretArn: this.readerSecret.secretArn,
        Fingerprint: setupFingerprint(),
      },
    });
    // The Data API needs the writer instance, not just the cluster: the setup waits for all of it.
    if (this.cluster) setup.node.addDependency(this.cluster);
    return { setup, setupFunction };
  }
}

/** What the setup does: the control SQL it applies (setup SQL included) and its own code. */
function setupFingerprint(): string {
  return FileSystem.fingerprint(CONTROL_SQL_DIR, {
    extraHash: ['shared/registry/database-users.ts', DATABASE_SETUP_ENTRY]
      .map((file) => FileSystem.fingerprint(join(REPO_ROOT, file)))
      .join(':'),
  });
}

function check(value: string, pattern: RegExp, what: string): void {
  if (!Token.isUnresolved(value) && !pattern.test(value)) {
    throw new Error(`existing database: ${what} is not valid: ${value}`);
  }
}
