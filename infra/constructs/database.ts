import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** An Aurora PostgreSQL cluster that already exists, reached through its Data API. */
export interface ExistingDatabaseProps {
  /** The cluster's ARN (`arn:aws:rds:<region>:<account>:cluster:<id>`); its Data API must be enabled. */
  readonly clusterArn: string;
  /** The complete ARN (with its six-character suffix) of a secret holding the credentials. */
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
}

export const DEFAULT_DATABASE_NAME = 'tenantry';
export const AURORA_POSTGRES_VERSION = rds.AuroraPostgresEngineVersion.VER_16_13;
const ADMIN_USER = 'tenantry_admin';
const CLUSTER_ARN = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[A-Za-z][A-Za-z0-9-]*$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/**
 * Where tenant schemas live: an Aurora PostgreSQL cluster reached only through the RDS Data API.
 * Either creates an Aurora Serverless v2 cluster in a VPC of isolated subnets (the functions call
 * the Data API over HTTPS and are not in the VPC, so there is no NAT), or imports an existing one.
 */
export class TenantryDatabase extends Construct {
  public readonly clusterArn: string;
  public readonly secret: secretsmanager.ISecret;
  public readonly databaseName: string;
  /** The cluster this construct created. @default - undefined for an imported cluster */
  public readonly cluster?: rds.DatabaseCluster;

  constructor(scope: Construct, id: string, props: TenantryDatabaseProps = {}) {
    super(scope, id);
    const { existing } = props;
    if (existing) {
      const shaping = Object.entries(props).filter(
        ([key, value]) => key !== 'existing' && value !== undefined,
      );
      if (shaping.length > 0) {
        throw new Error(
          `${this.node.path}: ${shaping.map(([k]) => k).join(', ')} cannot shape an existing cluster`,
        );
      }
      check(existing.clusterArn, CLUSTER_ARN, 'clusterArn');
      check(existing.secretArn, SECRET_ARN, 'secretArn (the complete ARN, with its six-character suffix)');
      this.clusterArn = existing.clusterArn;
      this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', existing.secretArn);
      this.databaseName = existing.databaseName ?? DEFAULT_DATABASE_NAME;
      return;
    }

    this.databaseName = props.databaseName ?? DEFAULT_DATABASE_NAME;
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

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
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
    const secret = this.cluster.secret;
    if (!secret) throw new Error(`${this.node.path}: the cluster has no generated secret`);
    this.secret = secret;
    this.clusterArn = this.cluster.clusterArn;

    // `cluster.secret` is the secret's attachment; the finding is on the generated secret itself.
    Validations.of(this.cluster.node.findChild('Secret')).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating this secret needs a rotation Lambda inside the VPC plus a Secrets Manager endpoint, which ' +
        'this NAT-less, isolated VPC deliberately lacks; only the Data API reads the secret, on behalf of ' +
        'IAM principals granted GetSecretValue on it alone.',
    });
  }
}

function check(value: string, pattern: RegExp, what: string): void {
  if (!Token.isUnresolved(value) && !pattern.test(value)) {
    throw new Error(`existing database: ${what} is not valid: ${value}`);
  }
}
