import { App, Tags } from 'aws-cdk-lib';
import { addComplianceChecks } from './checks';
import { TenantryStack } from './stack';

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

// `-c clusterArn=... -c secretArn=... [-c databaseName=...]` deploys against an existing cluster.
const clusterArn = context('clusterArn');
const secretArn = context('secretArn');
if ((clusterArn === undefined) !== (secretArn === undefined)) {
  throw new Error('set the clusterArn and secretArn context values together, or neither');
}
const databaseName = context('databaseName');
// `-c blueprints=<folder>` deploys your blueprints instead of the examples in shared/blueprints.
const blueprints = context('blueprints');

new TenantryStack(app, context('stackName') ?? 'Tenantry', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  database:
    clusterArn && secretArn ? { existing: { clusterArn, secretArn, databaseName } } : { databaseName },
  blueprints,
});
Tags.of(app).add('project', 'tenantry');
addComplianceChecks(app);
