import { cpSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, type CfnElement, type Environment, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { Construct } from 'constructs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TenantryFunction } from '../../infra/constructs/tenantry-function';
import * as cdk from '../../infra/index';
import { BLUEPRINTS_DIR } from '../../infra/paths';
import { Tenantry, type TenantryProps } from '../../infra/tenantry';
import { openApiDocument } from '../../shared/api/openapi';
import { API_ROUTES as ALL_ROUTES, type ApiRoute } from '../../shared/api/route-table';
import { TENANT_EVENT_TYPES } from '../../shared/events/tenant-events';
import { DEPROVISION_TASKS, MIGRATE_TASKS, PROVISION_TASKS, ROLLOUT_TASKS } from '../../statemachine/steps';
import { tempDir } from '../support/temp-dirs';
import { nagFindings } from './nag-findings';
import { buildStack, documentedOutputs, FIXTURE_BLUEPRINTS, testApp, userBlueprints } from './synth';

const EXISTING = {
  clusterArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:tenants',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenants-admin-AbC123',
};
const ENV: Environment = { account: '123456789012', region: 'eu-west-1' };
const API_ROUTES: readonly ApiRoute[] = ALL_ROUTES;

/** The routes that need the Rollout workflow: under /rollouts, or with Rollout access. */
const ROLLOUT_ROUTES = API_ROUTES.filter(
  (r) => r.path.startsWith('/rollouts') || (r.rollout?.length ?? 0) > 0,
);
/** The database logins' setup and the provider framework's function. */
const SETUP_FUNCTIONS = 2;
const CORE_FUNCTIONS =
  PROVISION_TASKS.length + MIGRATE_TASKS.length + DEPROVISION_TASKS.length + SETUP_FUNCTIONS;

/** A user's own stack, as in their CDK app: Tenantry is one construct in it. */
class NotesStack extends Stack {
  public readonly tenants: Tenantry;

  constructor(scope: Construct, id: string, props: TenantryProps, env?: Environment) {
    super(scope, id, { env });
    this.tenants = new Tenantry(this, 'Tenants', props);
  }
}

/** An app as `new App()` makes it (no cdk.json feature flags), bundling skipped. */
function bareApp(): App {
  return new App({ outdir: tempDir('tenantry-bare-'), context: { 'aws:cdk:bundling-stacks': [] } });
}

function userStack(props: TenantryProps = {}, env?: Environment, app: App = testApp()) {
  const stack = new NotesStack(app, 'Notes', props, env);
  return { app, stack, tenants: stack.tenants, template: Template.fromStack(stack) };
}

/** The stack's outputs by the name they have in TenantryStack: `Tenants<Name><hash>` is `<Name>`. */
function outputNames(template: Template): string[] {
  return Object.keys(template.toJSON().Outputs ?? {})
    .map((key) => /^Tenants([A-Za-z]+)[0-9A-F]{8}$/.exec(key)?.[1] ?? `unexpected: ${key}`)
    .sort();
}

function tenantryFunctions(scope: Construct): TenantryFunction[] {
  return scope.node.findAll().filter((c): c is TenantryFunction => c instanceof TenantryFunction);
}

describe.each<[string, () => App, TenantryProps, Environment | undefined]>([
  ['your blueprints and a new cluster, environment-agnostic', testApp, { database: {} }, undefined],
  [
    'an existing cluster, in an account and region, in an app without feature flags',
    bareApp,
    { database: { existing: EXISTING } },
    ENV,
  ],
])('Tenantry in a stack of your own, with %s', (_, makeApp, props, env) => {
  let synthesized: ReturnType<typeof userStack>;
  beforeAll(() => {
    const blueprints = props.database?.existing ? undefined : userBlueprints();
    synthesized = userStack({ ...props, blueprints }, env, makeApp());
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    expect(nagFindings(synthesized.app)).toEqual([]);
  });

  it('puts every part under the construct, with everything TenantryStack has', () => {
    const { stack, tenants, template } = synthesized;
    template.resourceCountIs(
      'AWS::Lambda::Function',
      CORE_FUNCTIONS + ROLLOUT_TASKS.length + API_ROUTES.length + 1,
    );
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 4);
    for (const part of [
      tenants.database,
      tenants.provision,
      tenants.migrate,
      tenants.deprovisioning,
      tenants.rollout,
      tenants.api,
      tenants.reconciler,
      tenants.monitoring,
    ]) {
      expect(part?.node.path).toMatch(/^Notes\/Tenants\/\w+$/);
    }
    expect(stack.node.children.map((c) => c.node.id)).not.toContain('Database');
  });

  it('has the outputs infra/README.md lists, named after the construct', () => {
    expect(outputNames(synthesized.template)).toEqual(documentedOutputs());
  });
});

describe('Tenantry parts', () => {
  it('are all there by default, and options of a part reach it', () => {
    const { tenants, template } = userStack({
      reconciler: { repair: false },
      monitoring: { dashboardName: 'notes-tenants' },
      api: true,
    });
    expect(tenants.rollout && tenants.api && tenants.reconciler && tenants.monitoring).toBeTruthy();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { TENANTRY_RECONCILE_REPAIR: 'false' } },
    });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'notes-tenants' });
  });

  describe('all four turned off', () => {
    let synthesized: ReturnType<typeof userStack>;
    beforeAll(() => {
      synthesized = userStack({ rollout: false, api: false, reconciler: false, monitoring: false });
    });

    it('leaves their resources out, and keeps the database and three workflows', () => {
      const { tenants, template } = synthesized;
      expect([tenants.rollout, tenants.api, tenants.reconciler, tenants.monitoring]).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      template.resourceCountIs('AWS::Lambda::Function', CORE_FUNCTIONS);
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
      for (const type of [
        'AWS::ApiGatewayV2::Api',
        'AWS::Scheduler::Schedule',
        'AWS::CloudWatch::Alarm',
        'AWS::CloudWatch::Dashboard',
        'AWS::SNS::Topic',
        'AWS::KMS::Key',
      ]) {
        template.resourceCountIs(type, 0);
      }
      template.resourceCountIs('AWS::RDS::DBCluster', 1);
      template.resourceCountIs('AWS::S3::Bucket', 2);
      template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    });

    it('leaves their outputs out', () => {
      const gone = ['ApiUrl', 'RolloutStateMachineArn', 'AlarmTopicArn', 'DashboardName'];
      expect(outputNames(synthesized.template)).toEqual(documentedOutputs().filter((o) => !gone.includes(o)));
    });

    it('has no unacknowledged cdk-nag finding', () => {
      expect(nagFindings(synthesized.app)).toEqual([]);
    });
  });

  it('without the Rollout: no Rollout workflow, routes, alarms or output', () => {
    const { tenants, template } = userStack({ rollout: false });
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
    expect(ROLLOUT_ROUTES.map((r) => r.id)).toEqual(
      expect.arrayContaining(['StartRollout', 'ResumeRollout', 'ListRollouts', 'PlanRollout']),
    );
    expect(Object.keys(tenants.api?.functions ?? {})).toEqual(
      API_ROUTES.filter((r) => !ROLLOUT_ROUTES.includes(r)).map((r) => r.id),
    );
    template.resourceCountIs(
      'AWS::Lambda::Function',
      CORE_FUNCTIONS + API_ROUTES.length - ROLLOUT_ROUTES.length + 1,
    );
    const alarms = Object.keys(tenants.monitoring?.alarms ?? {});
    expect(alarms.length).toBeGreaterThan(10);
    expect(alarms.filter((a) => a.startsWith('Rollout'))).toEqual([]);
    expect(alarms).toContain('MigrateExecutionsFailed');
    expect(JSON.stringify(template.findResources('AWS::Lambda::Function'))).not.toContain(
      'TENANTRY_ROLLOUT_STATE_MACHINE_ARN',
    );
    expect(outputNames(template)).not.toContain('RolloutStateMachineArn');
    expect(outputNames(template)).toContain('ApiUrl');
    // GET /openapi.json describes the routes deployed, and no Rollout route.
    const served = API_ROUTES.filter((r) => !ROLLOUT_ROUTES.includes(r)).map((r) => r.id);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TENANTRY_API_ROUTES: served.join(',') }) },
    });
    const paths = Object.keys(openApiDocument(new Set(served)).paths as object);
    expect(paths).toContain('/tenants/{tenantId}');
    expect(paths.filter((p) => p.startsWith('/rollouts'))).toEqual([]);
  });

  it('without the API: no HTTP API, its functions, alarms or URL', () => {
    const { tenants, template } = userStack({ api: false });
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    template.resourceCountIs('AWS::Lambda::Function', CORE_FUNCTIONS + ROLLOUT_TASKS.length + 1);
    expect(Object.keys(tenants.monitoring?.alarms ?? {}).filter((a) => a.startsWith('Api'))).toEqual([]);
    expect(outputNames(template)).not.toContain('ApiUrl');
    expect(tenants.rollout).toBeDefined();
  });

  it('without the reconciler: no schedule, function or alarms of it', () => {
    const { tenants, template } = userStack({ reconciler: false });
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    template.resourceCountIs(
      'AWS::Lambda::Function',
      CORE_FUNCTIONS + ROLLOUT_TASKS.length + API_ROUTES.length,
    );
    expect(Object.keys(tenants.monitoring?.alarms ?? {}).filter((a) => a.startsWith('Reconciler'))).toEqual(
      [],
    );
  });

  it('without the monitoring: no alarm, dashboard, topic or key, and no outputs of them', () => {
    const { template } = userStack({ monitoring: false });
    for (const type of [
      'AWS::CloudWatch::Alarm',
      'AWS::CloudWatch::Dashboard',
      'AWS::SNS::Topic',
      'AWS::KMS::Key',
    ])
      template.resourceCountIs(type, 0);
    expect(outputNames(template)).toEqual(
      documentedOutputs().filter((o) => o !== 'AlarmTopicArn' && o !== 'DashboardName'),
    );
  });

  it('without outputs: none', () => {
    expect(userStack({ outputs: false }).template.toJSON().Outputs).toBeUndefined();
  });

  it('gives the event bus to exactly the steps and routes that publish events, and every event has one', () => {
    const { tenants, template } = userStack();
    const resources = template.toJSON().Resources as Record<
      string,
      { Type: string; Properties: { Environment?: { Variables?: Record<string, unknown> } } }
    >;
    const withBus = (fn: TenantryFunction) =>
      resources[Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement)]?.Properties.Environment
        ?.Variables?.TENANTRY_EVENT_BUS_NAME !== undefined;
    const declared: string[] = [];
    const workflows = {
      Provision: tenants.provision,
      Deprovision: tenants.deprovisioning.workflow,
      Migrate: tenants.migrate,
    } as const;
    for (const [name, workflow] of Object.entries(workflows)) {
      const tasks = { Provision: PROVISION_TASKS, Deprovision: DEPROVISION_TASKS, Migrate: MIGRATE_TASKS }[
        name as keyof typeof workflows
      ];
      for (const task of tasks) {
        const fn = workflow.functions[task.state] as TenantryFunction;
        expect(withBus(fn), `${name}.${task.state}`).toBe((task.publishes?.length ?? 0) > 0);
        declared.push(...(task.publishes ?? []));
      }
    }
    for (const route of API_ROUTES) {
      const fn = tenants.api?.functions[route.id] as TenantryFunction;
      expect(withBus(fn), route.id).toBe((route.publishes?.length ?? 0) > 0);
      declared.push(...(route.publishes ?? []));
    }
    expect(withBus(tenants.reconciler?.function as TenantryFunction)).toBe(true);
    // Each event the applications may get is published by some step or route, and so reaches the bus.
    expect([...new Set(declared)].sort()).toEqual([...TENANT_EVENT_TYPES].sort());
  });

  it('with the API routes you choose', () => {
    const routes = API_ROUTES.filter((r) => r.id === 'ListTenants' || r.id === 'GetTenant');
    const { tenants, template } = userStack({ api: { routes } });
    expect(Object.keys(tenants.api?.functions ?? {}).sort()).toEqual(['GetTenant', 'ListTenants']);
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
  });

  it('refuses a Rollout route without the Rollout workflow', () => {
    expect(() => userStack({ rollout: false, api: { routes: API_ROUTES } })).toThrow(
      /route StartRollout needs the Rollout state machine/,
    );
  });
});

describe('the blueprints prop', () => {
  it('defaults to the blueprints shipped with Tenantry, in every function', () => {
    const { tenants } = userStack();
    expect(tenants.blueprintsDir).toBe(resolve(BLUEPRINTS_DIR));
    const functions = tenantryFunctions(tenants);
    expect(functions.length).toBe(CORE_FUNCTIONS - 1 + ROLLOUT_TASKS.length + API_ROUTES.length + 1);
    for (const fn of functions) expect(fn.blueprintsDir, fn.node.path).toBe(resolve(BLUEPRINTS_DIR));
  });

  it('gives your folder to every TenantryFunction: the workflows, the API, the reconciler, the setup', () => {
    const blueprints = userBlueprints();
    const { tenants } = userStack({ blueprints });
    expect(tenants.blueprintsDir).toBe(blueprints);
    const functions = tenantryFunctions(tenants);
    expect(functions.map((f) => f.node.path)).toEqual(
      expect.arrayContaining([
        'Notes/Tenants/Database/Logins/Setup',
        'Notes/Tenants/Provision/Functions/Validate',
        'Notes/Tenants/Deprovisioning/Deprovision/Functions/Backup',
        'Notes/Tenants/Rollout/Functions/NextWave',
        'Notes/Tenants/Api/Functions/StartTenant',
        'Notes/Tenants/Reconciler/Function',
      ]),
    );
    for (const fn of functions) expect(fn.blueprintsDir, fn.node.path).toBe(blueprints);
  });

  it('reaches TenantryStack too, which keeps its parts at the stack level', () => {
    const blueprints = userBlueprints();
    const { stack } = buildStack({ blueprints });
    expect(stack.provision.node.path).toBe('Tenantry/Provision');
    expect(stack.tenantry.node.children).toEqual([]);
    for (const fn of tenantryFunctions(stack)) expect(fn.blueprintsDir, fn.node.path).toBe(blueprints);
  });

  describe('relative to the working directory', () => {
    const cwd = process.cwd();
    afterEach(() => process.chdir(cwd));

    it('resolves against where the app runs (`cdk synth` in the app folder)', () => {
      const app = realpathSync(tempDir('tenantry-user-app-'));
      cpSync(userBlueprints(), join(app, 'blueprints'), { recursive: true });
      process.chdir(app);
      const { tenants } = userStack({ blueprints: './blueprints' });
      expect(tenants.blueprintsDir).toBe(join(app, 'blueprints'));
      for (const fn of tenantryFunctions(tenants)) expect(fn.blueprintsDir).toBe(join(app, 'blueprints'));
    });

    it('names the folder as given and as resolved when it is missing', () => {
      process.chdir(realpathSync(tempDir('tenantry-user-app-')));
      expect(() => userStack({ blueprints: './blueprints' })).toThrow(
        `blueprints: the blueprints folder ./blueprints (${join(process.cwd(), 'blueprints')}) does not exist`,
      );
    });
  });

  describe('checked at synth, each error naming the prop', () => {
    it('refuses a folder that does not exist', () => {
      const missing = join(tempDir('tenantry-no-blueprints-'), 'blueprints');
      expect(() => userStack({ blueprints: missing })).toThrow(
        `blueprints: the blueprints folder ${missing} does not exist`,
      );
    });

    it('refuses a file', () => {
      const file = join(tempDir('tenantry-file-blueprints-'), 'blueprints.json');
      writeFileSync(file, '{}');
      expect(() => userStack({ blueprints: file })).toThrow(`blueprints: ${file} is not a folder`);
    });

    it('refuses a folder without a blueprint folder in it', () => {
      const empty = tempDir('tenantry-empty-blueprints-');
      mkdirSync(join(empty, '.git'));
      writeFileSync(join(empty, 'README.md'), 'no blueprints here');
      expect(() => userStack({ blueprints: empty })).toThrow(
        /^blueprints: .* holds no blueprint folder; it needs one subfolder per blueprint, each with blueprint\.json and blueprint\.lock\.json$/,
      );
    });

    it('refuses blueprints without their lock file (the test fixtures have none) or manifest', () => {
      expect(() => userStack({ blueprints: FIXTURE_BLUEPRINTS })).toThrow(
        /^blueprints: the blueprints in .* are incomplete: alltypes\/ has no blueprint\.lock\.json \(write it with 'tenantry blueprint lock'\); drift\/ has no blueprint\.lock\.json .*; functions\/ has no blueprint\.lock\.json/,
      );
      const blueprints = userBlueprints();
      mkdirSync(join(blueprints, 'orders'));
      writeFileSync(join(blueprints, 'orders', 'blueprint.lock.json'), '{}');
      expect(() => userStack({ blueprints })).toThrow(
        /^blueprints: .* incomplete: orders\/ has no blueprint\.json$/,
      );
    });

    it('names blueprintsDir when the folder is given to a TenantryFunction', () => {
      const stack = new Stack(testApp(), 'Function');
      expect(
        () =>
          new TenantryFunction(stack, 'Fn', {
            entry: 'test/infra/fixtures/blueprint-names.ts',
            blueprintsDir: FIXTURE_BLUEPRINTS,
          }),
      ).toThrow(
        /^blueprintsDir: the blueprints in .* are incomplete: alltypes\/ has no blueprint\.lock\.json/,
      );
    });
  });
});

describe('tenantry/cdk (infra/index.ts)', () => {
  it('exports the construct, the stack and the part constructs, and runs no app', () => {
    for (const name of [
      'Tenantry',
      'TenantryStack',
      'TenantryDatabase',
      'TenantryWorkflow',
      'TenantryDeprovisioning',
      'TenantryApi',
      'TenantryReconciler',
      'TenantryMonitoring',
      'TenantryFunction',
    ]) {
      expect(typeof (cdk as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(Object.keys(cdk)).not.toContain('PARTS_SCOPE');
  });
});
