import type { App } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { addComplianceChecks } from '../../infra/checks';
import type { TenantryStackProps } from '../../infra/stack';
import { nagFindings } from './nag-findings';
import { buildStack, type Synthesized, synthStack } from './synth';

const EXISTING = {
  clusterArn: 'arn:aws:rds:eu-west-1:123456789012:cluster:tenants',
  secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenants-admin-AbC123',
};

describe.each<[string, TenantryStackProps]>([
  ['a new cluster', {}],
  ['an existing cluster', { database: { existing: EXISTING } }],
])('cdk-nag AwsSolutions on TenantryStack with %s', (_, props) => {
  it('has no unacknowledged finding', () => {
    expect(nagFindings(synthStack(props).app)).toEqual([]);
  });

  it('synthesizes with the checks the app registers', () => {
    const { app } = buildStack(props);
    addComplianceChecks(app);
    expect(() => app.synth()).not.toThrow();
  });
});

describe('the compliance gate', () => {
  function gated(add: (s: Omit<Synthesized, 'template'>) => void): App {
    const synthesized = buildStack();
    add(synthesized);
    addComplianceChecks(synthesized.app);
    return synthesized.app;
  }

  it('fails the synth on an unacknowledged error', () => {
    const app = gated(({ stack }) => {
      stack.provision.functions.Seed?.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sqs:*'], resources: ['arn:aws:sqs:eu-west-1:123456789012:q'] }),
      );
    });
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::sqs:\*\]/);
  });

  it('fails the synth on an unacknowledged warning', () => {
    const app = gated(({ stack }) => {
      const vpc = stack.database.node.findChild('Vpc') as ec2.Vpc;
      new ec2.NetworkAcl(stack, 'Acl', { vpc });
    });
    expect(() => app.synth()).toThrow(/AwsSolutions-VPC3/);
  });
});
