import { beforeAll, describe, expect, it } from 'vitest';
import { SFN_ACTIONS } from '../../infra/constructs/api';
import { LOGIN_SECRET_ACTIONS } from '../../infra/constructs/database';
import { SCHEDULING_ACTIONS } from '../../infra/constructs/deprovision';
import { DATA_API_ACTIONS } from '../../infra/constructs/tenantry-function';
import { API_ROUTES, type ApiRoute } from '../../shared/api/route-table';
import { logicalId, roleStatements, type Synthesized, synthStack } from './synth';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

describe('the HTTP API', () => {
  let stack: Synthesized['stack'];
  let template: Synthesized['template'];
  let resources: Resources;
  beforeAll(() => {
    ({ stack, template } = synthStack());
    resources = template.toJSON().Resources as Resources;
  });
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const routes: readonly ApiRoute[] = API_ROUTES;
  const machineRef = () => ({ Ref: logicalId(stack.provision.stateMachine) });
  const deprovisionRef = () => ({ Ref: logicalId(stack.deprovisioning.deprovisionStateMachine) });
  const executionsArn = (machine = stack.provision.stateMachine) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':states:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        ':execution:',
        { 'Fn::GetAtt': [logicalId(machine), 'Name'] },
        ':*',
      ],
    ],
  });

  it('is one HTTP API with exactly the routes of the route table, each behind IAM authorization', () => {
    expect(ofType('AWS::ApiGatewayV2::Api')).toHaveLength(1);
    const deployed = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(deployed.map((r) => r.RouteKey).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of deployed) expect(route.AuthorizationType, String(route.RouteKey)).toBe('AWS_IAM');
  });

  it("sends each route to its own function, with API Gateway's payload format 2.0", () => {
    const integrations = Object.fromEntries(ofType('AWS::ApiGatewayV2::Integration'));
    for (const [, r] of ofType('AWS::ApiGatewayV2::Route')) {
      const key = String(r.Properties.RouteKey);
      const route = routes.find((x) => `${x.method} ${x.path}` === key);
      const fn = route && stack.api.functions[route.id];
      if (!fn) throw new Error(`no function for ${key}`);
      const target = (r.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      const integration = integrations[(target[1] as { Ref: string }).Ref];
      expect(integration?.Properties, key).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [logicalId(fn), 'Arn'] },
      });
    }
  });

  it('logs every request of its auto-deployed $default stage to its own log group, in JSON', () => {
    const [[, stage] = []] = ofType('AWS::ApiGatewayV2::Stage');
    expect(stage?.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [logicalId(stack.api.accessLogs), 'Arn'] } },
    });
    const settings = stage?.Properties.AccessLogSettings as { Format: string } | undefined;
    const format = JSON.parse(String(settings?.Format));
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(resources[logicalId(stack.api.accessLogs)]?.Properties).toMatchObject({ RetentionInDays: 30 });
  });

  it('grants each function exactly the Step Functions actions its route needs, on the narrowest ARNs', () => {
    for (const route of routes) {
      const fn = stack.api.functions[route.id];
      if (!fn) throw new Error(`no function for ${route.id}`);
      const role = (stack.resolve(fn.role?.roleArn) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const states = roleStatements(template, role).filter((s) =>
        s.actions.some((a) => a.startsWith('states:')),
      );
      const expected = [];
      const onMachine = route.sfn.filter((a) => a === 'start' || a === 'list').map((a) => SFN_ACTIONS[a]);
      const onExecutions = route.sfn.filter((a) => a !== 'start' && a !== 'list').map((a) => SFN_ACTIONS[a]);
      if (onMachine.length > 0) expected.push({ actions: onMachine, resources: [machineRef()] });
      if (onExecutions.length > 0) expected.push({ actions: onExecutions, resources: [executionsArn()] });
      const deprovision = route.deprovision ?? [];
      const dOnMachine = deprovision.filter((a) => a === 'start' || a === 'list').map((a) => SFN_ACTIONS[a]);
      const dOnExecutions = deprovision
        .filter((a) => a !== 'start' && a !== 'list')
        .map((a) => SFN_ACTIONS[a]);
      if (dOnMachine.length > 0) expected.push({ actions: dOnMachine, resources: [deprovisionRef()] });
      if (dOnExecutions.length > 0) {
        expected.push({
          actions: dOnExecutions,
          resources: [executionsArn(stack.deprovisioning.deprovisionStateMachine)],
        });
      }
      const migrate = route.migrate ?? [];
      const mOnMachine = migrate.filter((a) => a === 'start' || a === 'list').map((a) => SFN_ACTIONS[a]);
      const mOnExecutions = migrate.filter((a) => a !== 'start' && a !== 'list').map((a) => SFN_ACTIONS[a]);
      if (mOnMachine.length > 0)
        expected.push({ actions: mOnMachine, resources: [{ Ref: logicalId(stack.migrate.stateMachine) }] });
      if (mOnExecutions.length > 0)
        expected.push({ actions: mOnExecutions, resources: [executionsArn(stack.migrate.stateMachine)] });
      const rollout = route.rollout ?? [];
      const rOnMachine = rollout.filter((a) => a === 'start' || a === 'list').map((a) => SFN_ACTIONS[a]);
      const rOnExecutions = rollout.filter((a) => a !== 'start' && a !== 'list').map((a) => SFN_ACTIONS[a]);
      if (rOnMachine.length > 0)
        expected.push({ actions: rOnMachine, resources: [{ Ref: logicalId(stack.rollout.stateMachine) }] });
      if (rOnExecutions.length > 0)
        expected.push({ actions: rOnExecutions, resources: [executionsArn(stack.rollout.stateMachine)] });
      // CDK merges statements with the same actions: compare (action, resource) pairs.
      const pairs = (list: { actions: string[]; resources: unknown[] }[]) =>
        list
          .flatMap((s) => s.actions.flatMap((a) => s.resources.map((r) => `${a} ${JSON.stringify(r)}`)))
          .sort();
      expect(pairs(states), route.id).toEqual(pairs(expected));
      for (const s of states) expect(s.actions.join(), route.id).not.toMatch(/\*/);
    }
    // The write routes are the only ones that may start or stop anything.
    const can = (action: string) =>
      routes.filter((r) => r.sfn.some((a) => SFN_ACTIONS[a] === action)).map((r) => r.id);
    expect(can('states:StartExecution')).toEqual([
      'StartTenant',
      'RedriveExecution',
      'RestoreTenant',
      'ProvisionFromTemplate',
    ]);
    const canDeprovision = (action: string) =>
      routes.filter((r) => (r.deprovision ?? []).some((a) => SFN_ACTIONS[a] === action)).map((r) => r.id);
    expect(canDeprovision('states:StartExecution')).toEqual(['RedriveExecution', 'DeprovisionTenant']);
    expect(canDeprovision('states:StopExecution')).toEqual(['CancelExecution']);
    const canMigrate = (action: string) =>
      routes.filter((r) => (r.migrate ?? []).some((a) => SFN_ACTIONS[a] === action)).map((r) => r.id);
    expect(canMigrate('states:StartExecution')).toEqual(['RedriveExecution', 'MigrateTenant']);
    expect(canMigrate('states:StopExecution')).toEqual(['CancelExecution']);
    const canRollout = (action: string) =>
      routes.filter((r) => (r.rollout ?? []).some((a) => SFN_ACTIONS[a] === action)).map((r) => r.id);
    expect(canRollout('states:StartExecution')).toEqual(['StartRollout', 'ResumeRollout']);
    expect(can('states:StopExecution')).toEqual(['CancelExecution']);
    expect(can('states:ListExecutions')).toEqual(['ListTenantExecutions']);
  });

  it('gives the database only to the routes that read or write the registry', () => {
    for (const route of routes) {
      const fn = stack.api.functions[route.id];
      if (!fn) throw new Error(`no function for ${route.id}`);
      const role = (stack.resolve(fn.role?.roleArn) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const data = roleStatements(template, role).filter((s) =>
        s.actions.some((a) => a.startsWith('rds-data:')),
      );
      const props = resources[logicalId(fn)]?.Properties as {
        Environment: { Variables: Record<string, unknown> };
      };
      const env = props.Environment.Variables;
      if (route.database === false) {
        expect(data, route.id).toEqual([]);
        expect(env.TENANTRY_DB_CLUSTER_ARN, route.id).toBeUndefined();
      } else {
        expect(
          data.map((s) => s.actions.sort()),
          route.id,
        ).toEqual([[...DATA_API_ACTIONS].sort()]);
        expect(env.TENANTRY_DB_CLUSTER_ARN, route.id).toBeDefined();
      }
      expect(env, route.id).toMatchObject({ TENANTRY_PROVISION_STATE_MACHINE_ARN: machineRef() });
      // Step names come from their definition in the code, not from the environment.
      expect(
        Object.keys(env).filter((k) => k.endsWith('_STEPS')),
        route.id,
      ).toEqual([]);
    }
    expect(routes.filter((r) => r.database === false).map((r) => r.id)).toEqual([
      'ListTenantExecutions',
      'GetExecution',
      'GetExecutionHistory',
      'GetOpenApi',
    ]);
  });

  it('lets only the deprovision routes schedule, with the scheduling grants and env of allowScheduling', () => {
    const passRole = {
      actions: ['iam:PassRole'],
      resources: [{ 'Fn::GetAtt': [logicalId(stack.deprovisioning.schedulerRole), 'Arn'] }],
    };
    for (const route of routes) {
      const fn = stack.api.functions[route.id];
      if (!fn) throw new Error(`no function for ${route.id}`);
      const role = (stack.resolve(fn.role?.roleArn) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const statements = roleStatements(template, role);
      const scheduling = statements.filter((s) =>
        s.actions.some((a) => a.startsWith('scheduler:') || a === 'iam:PassRole'),
      );
      const props = resources[logicalId(fn)]?.Properties as
        | { Environment: { Variables: Record<string, unknown> } }
        | undefined;
      const env = props?.Environment.Variables ?? {};
      if (route.scheduling) {
        expect(
          scheduling.map((s) => s.actions),
          route.id,
        ).toEqual([[...SCHEDULING_ACTIONS], ['iam:PassRole']]);
        expect(scheduling[1], route.id).toEqual(passRole);
        expect(env, route.id).toMatchObject({
          TENANTRY_SCHEDULE_GROUP: stack.deprovisioning.scheduleGroupName,
          TENANTRY_DEPROVISION_STATE_MACHINE_ARN: deprovisionRef(),
        });
      } else {
        expect(scheduling, route.id).toEqual([]);
        expect(env.TENANTRY_SCHEDULE_GROUP, route.id).toBeUndefined();
      }
    }
    expect(routes.filter((r) => r.scheduling).map((r) => r.id)).toEqual([
      'DeprovisionTenant',
      'CancelDeprovision',
    ]);
  });

  it("lets only the routes that run a Provision's Cleanup delete tenants' login secrets, on their prefix only", () => {
    const loginSecrets = stack.resolve(stack.database.tenantLoginSecretsArn);
    for (const route of routes) {
      const fn = stack.api.functions[route.id];
      if (!fn) throw new Error(`no function for ${route.id}`);
      const role = (stack.resolve(fn.role?.roleArn) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const granted = roleStatements(template, role).filter((s) =>
        s.actions.some((a) => a.startsWith('secretsmanager:') && a !== 'secretsmanager:GetSecretValue'),
      );
      const props = resources[logicalId(fn)]?.Properties as
        | { Environment: { Variables: Record<string, unknown> } }
        | undefined;
      const env = props?.Environment.Variables ?? {};
      if (route.loginSecrets) {
        expect(granted, route.id).toEqual([
          { actions: [...LOGIN_SECRET_ACTIONS[route.loginSecrets]], resources: [loginSecrets] },
        ]);
        expect(env.TENANTRY_TENANT_LOGIN_SECRET_PREFIX, route.id).toBe(
          stack.database.tenantLoginSecretPrefix,
        );
      } else {
        expect(granted, route.id).toEqual([]);
        expect(env.TENANTRY_TENANT_LOGIN_SECRET_PREFIX, route.id).toBeUndefined();
      }
    }
    expect(routes.filter((r) => r.loginSecrets).map((r) => [r.id, r.loginSecrets])).toEqual([
      ['CancelExecution', 'delete'],
      ['RedriveExecution', 'delete'],
    ]);
  });

  it('gives the template routes the database and nothing else', () => {
    const templateRoutes = routes.filter(
      (r) => r.path.startsWith('/templates') && r.id !== 'ProvisionFromTemplate',
    );
    expect(templateRoutes).toHaveLength(7);
    for (const route of templateRoutes) {
      const fn = stack.api.functions[route.id];
      if (!fn) throw new Error(`no function for ${route.id}`);
      const role = (stack.resolve(fn.role?.roleArn) as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const actions = roleStatements(template, role).flatMap((s) => s.actions);
      const other = actions.filter(
        (a) =>
          !DATA_API_ACTIONS.includes(a as (typeof DATA_API_ACTIONS)[number]) &&
          !a.startsWith('secretsmanager:') &&
          !a.startsWith('xray:') &&
          !a.startsWith('logs:'),
      );
      expect(other, route.id).toEqual([]);
      expect(actions, route.id).toEqual(expect.arrayContaining([...DATA_API_ACTIONS]));
    }
  });

  it('outputs the URL of the stage', () => {
    template.hasOutput('ApiUrl', {});
  });
});
