import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_SETUP_ENTRY } from '../../infra/constructs/database';
import { DATA_API_ACTIONS, TenantryFunction } from '../../infra/constructs/tenantry-function';
import { REPO_ROOT } from '../../infra/paths';
import type { TenantryStackProps } from '../../infra/stack';
import { API_ROUTES, type ApiRoute } from '../../shared/api/route-table';
import { DatabaseUsersPropertiesSchema } from '../../shared/registry/database-users';
import { tempDir } from '../support/temp-dirs';
import { recordAcknowledgements } from './nag-findings';
import { logicalId, roleStatements, type Synthesized, synthStack } from './synth';

/**
 * Issue 13, item 5 on AWS: the read-only routes reach the database as the reader login, everything
 * else that uses it as the owner login, each with a secret of its own, and the master secret goes
 * to the deploy-time setup only (a custom resource that makes the logins).
 */

const EXISTING = {
  clusterArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:tenants',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenants-admin-AbC123',
};

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
}

const ROUTES: readonly ApiRoute[] = API_ROUTES;
const readOnlyRoutes = ROUTES.filter((r) => r.readOnly && r.database !== false);

describe.each<[string, TenantryStackProps]>([
  ['a new cluster', {}],
  ['an existing cluster', { database: { existing: EXISTING } }],
])('the database logins with %s', (_, props) => {
  let stack: Synthesized['stack'];
  let template: Template;
  let resources: Record<string, Resource>;
  let secrets: { master: unknown; owner: unknown; reader: unknown };
  let setupId: string;
  const resolve = (value: unknown): unknown => stack.resolve(value);
  const roleOf = (id: string): string => {
    const role = resources[id]?.Properties?.Role as { 'Fn::GetAtt': [string, string] } | undefined;
    if (!role) throw new Error(`${id} has no role`);
    return role['Fn::GetAtt'][0];
  };
  /** The resources of every GetSecretValue statement of a function's role. */
  const secretGrants = (id: string) =>
    roleStatements(template, roleOf(id))
      .filter((s) => s.actions.includes('secretsmanager:GetSecretValue'))
      .flatMap((s) => s.resources);
  const envOf = (id: string) =>
    ((resources[id]?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables ?? {}) as Record<string, unknown>;
  /** Every function that reaches the database at run time, by logical id. */
  const databaseFunctions = () =>
    Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id]) => id)
      .filter((id) => envOf(id).TENANTRY_DB_SECRET_ARN !== undefined);

  beforeAll(() => {
    ({ stack, template } = synthStack(props));
    resources = template.toJSON().Resources as Record<string, Resource>;
    secrets = {
      master: resolve(stack.database.masterSecret.secretArn),
      owner: resolve(stack.database.ownerSecret.secretArn),
      reader: resolve(stack.database.readerSecret.secretArn),
    };
    setupId = logicalId(stack.database.setupFunction);
  });

  it('gives every read-only route the reader login: its secret in the environment, GetSecretValue on it alone', () => {
    expect(readOnlyRoutes.length).toBeGreaterThanOrEqual(6);
    for (const route of readOnlyRoutes) {
      const fn = stack.api.functions[route.id];
      if (!fn) throw new Error(`no function for ${route.id}`);
      const id = logicalId(fn);
      expect(envOf(id).TENANTRY_DB_SECRET_ARN, route.id).toEqual(secrets.reader);
      expect(secretGrants(id), route.id).toEqual([secrets.reader]);
    }
  });

  it('gives every other database function (steps, writing routes, reconciler) the owner login alone', () => {
    const readers = new Set(readOnlyRoutes.map((r) => logicalId(stack.api.functions[r.id] as never)));
    const owners = databaseFunctions().filter((id) => !readers.has(id));
    const expected = [
      ...Object.values(stack.provision.functions),
      ...Object.values(stack.migrate.functions),
      ...Object.values(stack.rollout.functions),
      ...Object.values(stack.deprovisioning.workflow.functions),
      stack.reconciler.function,
      ...ROUTES.filter((r) => !r.readOnly && r.database !== false).map((r) => stack.api.functions[r.id]),
    ].map((fn) => logicalId(fn as never));
    expect(owners.sort()).toEqual(expected.sort());
    for (const id of owners) {
      expect(envOf(id).TENANTRY_DB_SECRET_ARN, id).toEqual(secrets.owner);
      expect(secretGrants(id), id).toEqual([secrets.owner]);
    }
  });

  it('grants the master secret to the setup and to no other principal', () => {
    const grantees = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => {
      const statements = [p.Properties.PolicyDocument.Statement].flat() as {
        Action: string | string[];
        Resource: unknown;
      }[];
      const master = statements.some((s) =>
        [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(secrets.master)),
      );
      return master ? (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref) : [];
    });
    expect(grantees).toEqual([roleOf(setupId)]);
    for (const id of databaseFunctions())
      expect(envOf(id).TENANTRY_DB_SECRET_ARN, id).not.toEqual(secrets.master);
  });

  it('lets the setup use the Data API with the master secret and read the two logins', () => {
    expect(envOf(setupId).TENANTRY_DB_SECRET_ARN).toBeUndefined();
    const statements = roleStatements(template, roleOf(setupId))
      .filter((s) => s.actions.some((a) => a.startsWith('rds-data:') || a.startsWith('secretsmanager:')))
      .map((s) => ({ ...s, actions: s.actions.sort() }));
    expect(statements).toEqual([
      { actions: [...DATA_API_ACTIONS].sort(), resources: [resolve(stack.database.clusterArn)] },
      {
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secrets.master, secrets.owner, secrets.reader],
      },
    ]);
    expect(resources[setupId]?.Properties).toMatchObject({ Timeout: 900 });
    expect(stack.database.setupFunction.node.path).toMatch(/^Tenantry\/Database\/Logins\/Setup$/);
    expect(DATABASE_SETUP_ENTRY).toBe('functions/setup/database-users.ts');
  });

  it('runs the setup as a custom resource that the database functions wait for', () => {
    const custom = Object.entries(resources).filter(([, r]) => r.Type === 'Custom::TenantryDatabaseLogins');
    expect(custom).toHaveLength(1);
    const [customId, resource] = custom[0] as [string, Resource];
    const properties = resource.Properties ?? {};
    expect(properties).toMatchObject({
      ClusterArn: resolve(stack.database.clusterArn),
      Database: stack.database.databaseName,
      MasterSecretArn: secrets.master,
      OwnerSecretArn: secrets.owner,
      ReaderSecretArn: secrets.reader,
      Fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // The handler's schema knows every property the construct sets.
    expect(Object.keys(DatabaseUsersPropertiesSchema.shape).sort()).toEqual(
      Object.keys(properties)
        .filter((k) => k !== 'ServiceToken')
        .sort(),
    );
    for (const id of databaseFunctions())
      expect([resources[id]?.DependsOn ?? []].flat(), id).toContain(customId);
    if (stack.database.cluster) {
      // The Data API answers once the writer instance is up, not when the cluster is.
      const dependsOn = [resource.DependsOn ?? []].flat();
      const instances = Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::RDS::DBInstance' || r.Type === 'AWS::RDS::DBCluster')
        .map(([id]) => id);
      expect(instances).toHaveLength(2);
      expect(dependsOn).toEqual(expect.arrayContaining(instances));
    }
  });

  it('makes one generated secret per login, named after the database, attached to a new cluster', () => {
    const name = stack.database.databaseName;
    for (const login of ['owner', 'readonly'])
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ username: `${name}_${login}`, dbname: name }),
          GenerateStringKey: 'password',
          ExcludeCharacters: Match.anyValue(),
        },
      });
    template.resourceCountIs('AWS::SecretsManager::SecretTargetAttachment', stack.database.cluster ? 3 : 0);
  });
});

describe('cdk-nag on the database logins', () => {
  it('acknowledges only findings that exist, on the construct that has them', () => {
    const { recorded, exists } = recordAcknowledgements(() => synthStack().app);
    const mine = recorded.filter((r) =>
      / at Tenantry\/Database\/(OwnerSecret|ReaderSecret|Logins\/|Cluster\/Secret)/.test(r),
    );
    expect(mine.filter((r) => !exists(r))).toEqual([]);
    expect(mine).toEqual(
      expect.arrayContaining([
        'AwsSolutions-SMG4 at Tenantry/Database/Cluster/Secret',
        'AwsSolutions-SMG4 at Tenantry/Database/OwnerSecret',
        'AwsSolutions-SMG4 at Tenantry/Database/ReaderSecret',
        expect.stringMatching(
          /^AwsSolutions-IAM5\[Resource::<DatabaseLoginsSetup\w+\.Arn>:\*\] at Tenantry\/Database\/Logins\/ProviderRole\/DefaultPolicy$/,
        ),
      ]),
    );
  });
});

describe('the setup bundle', () => {
  it('carries its SQL, loads as Lambda loads it, and leaves everything alone on Delete', {
    timeout: 120_000,
  }, () => {
    const app = new App({ outdir: tempDir('tenantry-setup-bundle-') });
    new TenantryFunction(new Stack(app, 'Setup'), 'Setup', { entry: DATABASE_SETUP_ENTRY });
    const assembly = app.synth();
    const [asset] = readdirSync(assembly.directory).filter((f) => f.startsWith('asset.'));
    if (!asset) throw new Error('no asset was bundled');
    const bundle = join(assembly.directory, asset);
    for (const file of ['logins.sql', 'transfer.sql'])
      expect(existsSync(join(bundle, 'sql', 'setup', file))).toBe(true);
    // The runtime provides the SDK (here, this repository's node_modules). A Delete calls nothing.
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(bundle, 'node_modules'));
    const event = {
      RequestType: 'Delete',
      PhysicalResourceId: 'tenantry-database-users:tenantry',
      ResourceProperties: {
        ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
        ClusterArn: EXISTING.clusterArn,
        Database: 'tenantry',
        MasterSecretArn: EXISTING.secretArn,
        OwnerSecretArn: `${EXISTING.secretArn}-owner`,
        ReaderSecretArn: `${EXISTING.secretArn}-reader`,
      },
    };
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const { handler } = await import(process.argv[1]); console.log(JSON.stringify(await handler(JSON.parse(process.argv[2]))));',
        join(bundle, 'index.mjs'),
        JSON.stringify(event),
      ],
      { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'eu-west-1', TENANTRY_LOG_LEVEL: 'silent' } },
    );
    expect(JSON.parse(output.trim().split('\n').at(-1) ?? '')).toEqual({
      PhysicalResourceId: 'tenantry-database-users:tenantry',
    });
  });
});
