// Your own CDK app, with the Tenantry control plane as one construct of your stack and your own
// blueprints (./blueprints, one folder per blueprint). `npm run synth` checks it with cdk-nag's
// AwsSolutions rules: a finding Tenantry did not acknowledge where it occurs fails the synth.
import { App, Stack, type StackProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { Tenantry } from 'tenantry/cdk';

class NotesStack extends Stack {
  public readonly tenants: Tenantry;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.tenants = new Tenantry(this, 'Tenants', {
      // Relative to where `cdk synth` runs: this folder.
      blueprints: './blueprints',
      // A new Aurora Serverless v2 cluster; `{ existing: { clusterArn, secretArn } }` uses yours.
      database: { databaseName: 'notes' },
      // Every part is on by default; this app has no fleet rollouts yet.
      rollout: false,
    });
  }
}

const app = new App();
new NotesStack(app, 'Notes', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Tags.of(app).add('app', 'notes');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
