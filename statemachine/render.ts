import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { buildDeprovisionDefinition } from './deprovision';
import { buildMigrateDefinition } from './migrate';
import { buildProvisionDefinition } from './provision';
import { buildRolloutDefinition, type WorkflowMachines } from './rollout';
import {
  type AslDefinition,
  DEPROVISION,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  localFunctionArn,
  MIGRATE,
  PROVISION,
  ROLLOUT,
  type Workflow,
} from './workflows';

export {
  type AslDefinition,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  localFunctionArn,
  type Workflow,
} from './workflows';

/** A workflow with the CDK chain that builds it: what infra/ deploys and `npm run asl` renders. */
export interface WorkflowSpec extends Workflow {
  build(
    scope: Construct,
    functions: Readonly<Record<string, lambda.IFunction>>,
    machines?: WorkflowMachines,
  ): sfn.IChainable;
  /** The other workflows' state machines it starts (the Rollout starts Migrate). @default none */
  readonly starts?: readonly string[];
}

export const DEPROVISION_WORKFLOW: WorkflowSpec = { ...DEPROVISION, build: buildDeprovisionDefinition };

export const PROVISION_WORKFLOW: WorkflowSpec = { ...PROVISION, build: buildProvisionDefinition };

export const MIGRATE_WORKFLOW: WorkflowSpec = { ...MIGRATE, build: buildMigrateDefinition };

export const ROLLOUT_WORKFLOW: WorkflowSpec = {
  ...ROLLOUT,
  build: buildRolloutDefinition,
  starts: ['Migrate'],
};

/** Every workflow, as `npm run asl` renders them and test/infra/asl.test.ts checks them. */
export const ALL_WORKFLOWS: readonly WorkflowSpec[] = [
  PROVISION_WORKFLOW,
  DEPROVISION_WORKFLOW,
  MIGRATE_WORKFLOW,
  ROLLOUT_WORKFLOW,
];

/** A state machine's ARN where no real one exists (local engine, rendering): named after its workflow. */
export function localStateMachineArn(workflow: string): string {
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${workflow}`;
}

/**
 * Renders a workflow's CDK chain to ASL without synthesizing an app: the same states, retries and
 * catches the deployed state machine has, with placeholder Lambda ARNs.
 */
export function renderAsl(workflow: WorkflowSpec): AslDefinition {
  // An App makes its output folder as it is built; nothing is synthesized into it, so it goes again.
  const outdir = mkdtempSync(join(tmpdir(), 'tenantry-render-'));
  try {
    return renderIn(new App({ outdir }), workflow);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function renderIn(app: App, workflow: WorkflowSpec): AslDefinition {
  const stack = new Stack(app, 'Render', { env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION } });
  const functions = Object.fromEntries(
    workflow.tasks.map((t) => [
      t.state,
      lambda.Function.fromFunctionArn(stack, `${t.state}Fn`, localFunctionArn(t.state)),
    ]),
  );
  const machines = Object.fromEntries(
    (workflow.starts ?? []).map((name) => [
      name,
      sfn.StateMachine.fromStateMachineArn(stack, `${name}Machine`, localStateMachineArn(name)),
    ]),
  );
  const chain = workflow.build(stack, functions, machines);
  const graph = new sfn.StateGraph(chain.startState, workflow.name);
  const resolved = resolveIntrinsics(stack.resolve(graph.toGraphJson())) as AslDefinition;
  return { ...resolved, TimeoutSeconds: workflow.timeoutSeconds };
}

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * Replaces the CloudFormation intrinsics a rendered chain can hold (`Fn::Join` and pseudo
 * parameter `Ref`s) with plain strings. Anything else is a reference to a resource that does not
 * exist outside a stack, and is refused.
 */
export function resolveIntrinsics(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolveIntrinsics);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const resolved = PSEUDO_PARAMETERS[String(obj.Ref)];
    if (resolved === undefined) throw new Error(`cannot render a reference to ${String(obj.Ref)}`);
    return resolved;
  }
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(resolveIntrinsics(p))).join(sep);
  }
  if (keys.some((k) => k.startsWith('Fn::'))) throw new Error(`cannot render intrinsic ${keys.join(',')}`);
  return Object.fromEntries(keys.map((k) => [k, resolveIntrinsics(obj[k])]));
}

/** What `npm run asl` writes to each workflow's `aslFile`: its rendered ASL as JSON text. */
export function aslText(workflow: WorkflowSpec): string {
  return `${JSON.stringify(renderAsl(workflow), null, 2)}\n`;
}
