import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { TenantryDeprovisioning } from './deprovision';
import type { TenantryWorkflow } from './workflow';

/** Where NextWave writes each wave's items (shared/rollout/steps.ts), in the backup bucket. */
export const ROLLOUT_PREFIX = 'rollouts/';

/**
 * The Rollout's wave items, in one call: NextWave may write them under `rollouts/` of the backup
 * bucket (and nothing else there), and the state machine's Distributed Map may read them
 * (s3:GetObject on that prefix only).
 */
export function allowWaveItems(
  rollout: TenantryWorkflow,
  deprovisioning: TenantryDeprovisioning,
  prefix: string,
) {
  const nextWave = rollout.functions.NextWave;
  if (!nextWave) throw new Error('the Rollout workflow has no NextWave function');
  deprovisioning.useBackupBucket(nextWave, 'readWrite', prefix);
  const bucket = deprovisioning.backupBucket;
  rollout.stateMachine.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects(`${prefix}*`)] }),
  );
  const policy = rollout.stateMachine.role.node.tryFindChild('DefaultPolicy') ?? rollout.stateMachine.role;
  const bucketId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as never);
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
    reason: `s3:GetObject on the wave items under ${prefix} of the backup bucket only (the Distributed Map's ItemReader): keys name the rollout and execution.`,
  });
}

/**
 * The execution ARNs CDK grants a Rollout, as cdk-nag prints them: `<name>` stands for the state
 * machine's name, which CDK takes from its ARN (Fn::Select 6 of Fn::Split ":").
 */
function nagExecutions(stateMachine: sfn.StateMachine, suffix: string): string {
  const stack = Stack.of(stateMachine);
  const shown = (value: string, token: string) => (Token.isUnresolved(value) ? `<${token}>` : value);
  const id = stack.getLogicalId(stateMachine.node.defaultChild as never);
  return (
    `arn:${shown(stack.partition, 'AWS::Partition')}:states:${shown(stack.region, 'AWS::Region')}:` +
    `${shown(stack.account, 'AWS::AccountId')}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${id}"}]}]}${suffix}`
  );
}

/**
 * What CDK grants the Rollout state machine for its Distributed Map and the Migrate executions it
 * starts and waits for, acknowledged: DescribeExecution and StopExecution on the Migrate machine's
 * executions, and on the Rollout's own executions and Map Runs.
 */
export function acknowledgeRolloutGrants(rollout: TenantryWorkflow, migrate: sfn.StateMachine) {
  const machine = rollout.stateMachine;
  const role = machine.role.node.tryFindChild('DefaultPolicy') ?? machine.role;
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagExecutions(migrate, '*')}]`,
    reason:
      'DescribeExecution and StopExecution on the Migrate executions the Map starts (startExecution.sync:2): their names are made per tenant and attempt.',
  });
  const mapPolicy = machine.node.tryFindChild('DistributedMapPolicy');
  if (!mapPolicy) throw new Error('the Rollout state machine has no Distributed Map policy');
  for (const suffix of [':*', '/Wave:*']) {
    Validations.of(mapPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagExecutions(machine, suffix)}]`,
      reason:
        "The Distributed Map's own Map Runs and child executions of this state machine (what CDK grants a Distributed Map).",
    });
  }
}
