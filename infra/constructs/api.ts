import { ArnFormat, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { API_ROUTES, type ApiRoute, routeEntry, type SfnAccess } from '../../shared/api/route-table';
import type { TenantryDatabase } from './database';
import type { TenantryDeprovisioning } from './deprovision';
import { TenantryFunction } from './tenantry-function';

/** The Step Functions actions behind each kind of access a route may have. */
export const SFN_ACTIONS: Readonly<Record<SfnAccess, string>> = {
  start: 'states:StartExecution',
  describe: 'states:DescribeExecution',
  history: 'states:GetExecutionHistory',
  stop: 'states:StopExecution',
  list: 'states:ListExecutions',
};

/** Accesses that act on the state machine itself; the others act on its executions. */
const ON_STATE_MACHINE: ReadonlySet<SfnAccess> = new Set(['start', 'list']);

export interface TenantryApiProps {
  /** The Provision state machine the routes start, read, stop and list executions of. */
  readonly stateMachine: sfn.IStateMachine;
  /** The registry database. */
  readonly database: TenantryDatabase;
  /** How long function and access logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Deprovisioning: the Deprovision state machine (for routes with `deprovision` access) and its
   * deletion schedules (for routes with `scheduling`). A route that needs it fails synth without it.
   * @default - none
   */
  readonly deprovisioning?: TenantryDeprovisioning;
  /**
   * The Migrate state machine, for routes with `migrate` access. A route that needs it fails synth
   * without it. @default - none
   */
  readonly migrateStateMachine?: sfn.IStateMachine;
  /** The Rollout state machine, for routes with `rollout` access. @default - none */
  readonly rolloutStateMachine?: sfn.IStateMachine;
  /** @default - every route of shared/api/route-table.ts */
  readonly routes?: readonly ApiRoute[];
  /**
   * The blueprints every function's bundle carries (TenantryFunction `blueprintsDir`).
   * @default - the blueprints shipped with Tenantry (shared/blueprints)
   */
  readonly blueprintsDir?: string;
}

/**
 * The HTTP API (API Gateway v2): one TenantryFunction per route, IAM authorization on every
 * route, access logs for the stage, and for each function exactly the Step Functions actions its
 * route needs, on the state machine or on its executions only. Its URL is `stage.url` (Tenantry
 * outputs it as `ApiUrl`).
 */
export class TenantryApi extends Construct {
  public readonly httpApi: apigw.HttpApi;
  public readonly stage: apigw.HttpStage;
  /** The function behind each route, keyed by route id. */
  public readonly functions: Readonly<Record<string, TenantryFunction>>;
  public readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TenantryApiProps) {
    super(scope, id);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Tenantry admin API: provision, track, cancel and redrive tenants',
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.jsonWithStandardFields(),
      },
    });

    const functionScope = new Construct(this, 'Functions');
    const functions: Record<string, TenantryFunction> = {};
    const routes: readonly ApiRoute[] = props.routes ?? API_ROUTES;
    for (const route of routes) {
      const fn = new TenantryFunction(functionScope, route.id, {
        entry: routeEntry(route),
        description: `API ${route.method} ${route.path}: ${route.summary}`,
        logRetention: retention,
        blueprintsDir: props.blueprintsDir,
      });
      // A route that only reads the control schema acts as the reader login, which cannot write.
      if (route.database !== false) fn.useDatabase(props.database, route.readOnly ? 'reader' : 'owner');
      useWorkflow(this, fn, props.stateMachine, route.sfn);
      if (route.loginSecrets) props.database.useTenantLoginSecrets(fn, route.loginSecrets);
      if ((route.deprovision?.length ?? 0) > 0 || route.scheduling) {
        const d = props.deprovisioning;
        if (!d) throw new Error(`route ${route.id} needs the deprovisioning construct`);
        if (route.deprovision && route.deprovision.length > 0) {
          useWorkflow(this, fn, d.deprovisionStateMachine, route.deprovision, {
            arn: 'TENANTRY_DEPROVISION_STATE_MACHINE_ARN',
            label: 'Deprovision',
          });
        }
        if (route.scheduling) d.allowScheduling(fn);
      }
      if ((route.publishes?.length ?? 0) > 0) {
        if (!props.deprovisioning) throw new Error(`route ${route.id} needs the deprovisioning construct`);
        props.deprovisioning.useEventBus(fn);
      }
      if ((route.rollout?.length ?? 0) > 0) {
        if (!props.rolloutStateMachine) throw new Error(`route ${route.id} needs the Rollout state machine`);
        useWorkflow(this, fn, props.rolloutStateMachine, route.rollout ?? [], {
          arn: 'TENANTRY_ROLLOUT_STATE_MACHINE_ARN',
          label: 'Rollout',
        });
      }
      if ((route.migrate?.length ?? 0) > 0) {
        if (!props.migrateStateMachine) throw new Error(`route ${route.id} needs the Migrate state machine`);
        useWorkflow(this, fn, props.migrateStateMachine, route.migrate ?? [], {
          arn: 'TENANTRY_MIGRATE_STATE_MACHINE_ARN',
          label: 'Migrate',
        });
      }
      this.httpApi.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.id}Integration`, fn, {
          payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
        }),
      });
      functions[route.id] = fn;
    }
    // The document GET /openapi.json serves lists the routes this deployment has, and only those.
    functions.GetOpenApi?.addEnvironment('TENANTRY_API_ROUTES', routes.map((r) => r.id).join(','));
    this.functions = functions;
  }
}

/**
 * Points a function at a state machine and grants it the listed Step Functions access, in one
 * call so the environment and the policy cannot drift: StartExecution and ListExecutions on the
 * state machine, the execution actions on its executions only. The API's routes and the
 * reconciler use it.
 */
export function useWorkflow(
  scope: Construct,
  fn: TenantryFunction,
  stateMachine: sfn.IStateMachine,
  access: readonly SfnAccess[],
  env = { arn: 'TENANTRY_PROVISION_STATE_MACHINE_ARN', label: 'Provision' },
): void {
  fn.addEnvironment(env.arn, stateMachine.stateMachineArn);
  const onMachine = access.filter((a) => ON_STATE_MACHINE.has(a)).map((a) => SFN_ACTIONS[a]);
  const onExecutions = access.filter((a) => !ON_STATE_MACHINE.has(a)).map((a) => SFN_ACTIONS[a]);
  if (onMachine.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: onMachine, resources: [stateMachine.stateMachineArn] }),
    );
  }
  if (onExecutions.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: onExecutions, resources: [executionsOf(scope, stateMachine)] }),
    );
    const policy = fn.role?.node.tryFindChild('DefaultPolicy') ?? fn.role;
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagExecutionsArn(scope, stateMachine)}]`,
        reason: `${onExecutions.join(', ')} on the executions of the ${env.label} state machine only: execution names are not known in advance.`,
      });
    }
  }
}

/** `arn:…:states:…:execution:<state machine name>:*`: every execution of this state machine, no other. */
function executionsOf(scope: Construct, stateMachine: sfn.IStateMachine): string {
  return Stack.of(scope).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${(stateMachine as sfn.StateMachine).stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The executions ARN as cdk-nag prints it in a finding: tokens as `<Name>`, known values as they are. */
function nagExecutionsArn(scope: Construct, stateMachine: sfn.IStateMachine): string {
  const stack = Stack.of(scope);
  const shown = (value: string, token: string) => (Token.isUnresolved(value) ? `<${token}>` : value);
  return (
    `arn:${shown(stack.partition, 'AWS::Partition')}:states:${shown(stack.region, 'AWS::Region')}:` +
    `${shown(stack.account, 'AWS::AccountId')}:execution:<${logicalIdOf(stateMachine)}.Name>:*`
  );
}

function logicalIdOf(stateMachine: sfn.IStateMachine): string {
  const child = stateMachine.node.defaultChild as sfn.CfnStateMachine | undefined;
  return child ? Stack.of(stateMachine).getLogicalId(child) : stateMachine.node.id;
}
