import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { REPO_ROOT } from '../../infra/paths';
import { TenantryStack, type TenantryStackProps } from '../../infra/stack';
import { PROVISION_TASKS } from '../../statemachine/steps';
import { tempDir } from '../support/temp-dirs';

/** The feature flags the CLI gives the app, so the tests synthesize what `cdk synth` does. */
const CDK_CONTEXT = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: object })
  .context;

/** Blueprints without lock files: test/fixtures/blueprints. */
export const FIXTURE_BLUEPRINTS = join(REPO_ROOT, 'test', 'fixtures', 'blueprints');

/** An app that skips bundling: fast, and stable asset hashes. Its output folder goes after the test file. */
export function testApp(): App {
  return new App({
    outdir: tempDir('tenantry-cdk-'),
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
  });
}

export interface Synthesized {
  readonly app: App;
  readonly stack: TenantryStack;
  readonly template: Template;
}

/** The stack, not synthesized yet: add to it, or register validation plugins, first. */
export function buildStack(props: TenantryStackProps = {}): Omit<Synthesized, 'template'> {
  const app = testApp();
  return { app, stack: new TenantryStack(app, 'Tenantry', props) };
}

export function synthStack(props: TenantryStackProps = {}): Synthesized {
  const { app, stack } = buildStack(props);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The outputs infra/README.md lists: the first column of the table under its "## Outputs". */
export function documentedOutputs(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'infra', 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Outputs\n')) ?? '';
  return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1] ?? '').sort();
}

/**
 * A user's blueprints folder: a copy of the test fixtures' (test/fixtures/blueprints), each with the
 * `blueprint.lock.json` they lack (no locked version), in a temp folder of its own.
 */
export function userBlueprints(): string {
  const dir = tempDir('tenantry-user-blueprints-');
  cpSync(FIXTURE_BLUEPRINTS, dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    writeFileSync(
      join(dir, name, 'blueprint.lock.json'),
      `${JSON.stringify({ blueprint: name, versions: {} })}\n`,
    );
  }
  return dir;
}

/** Handler files the Provision workflow points at that are not in the repository (yet). */
export function missingHandlers(): string[] {
  return PROVISION_TASKS.map((t) => t.entry).filter((entry) => !existsSync(join(REPO_ROOT, entry)));
}

export function logicalId(element: { node: { defaultChild?: unknown } }): string {
  const child = element.node.defaultChild as CfnElement | undefined;
  if (!child) throw new Error('construct has no default child');
  return Stack.of(child).getLogicalId(child);
}

/** A policy statement as synthesized, with `Action` and `Resource` always arrays. */
export interface Statement {
  readonly actions: string[];
  readonly resources: unknown[];
}

interface RawStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every Allow statement of the policies attached to the role with this logical id. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const policies = Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleLogicalId }] } }),
  ) as { Properties: { PolicyDocument: { Statement: RawStatement[] } } }[];
  return policies.flatMap((p) =>
    p.Properties.PolicyDocument.Statement.filter((s) => s.Effect === 'Allow').map((s) => ({
      actions: [s.Action].flat(),
      resources: [s.Resource].flat(),
    })),
  );
}

/**
 * A state machine's DefinitionString: an `Fn::Join` of JSON text and CloudFormation tokens. With
 * several state machines in the template, name one by its logical id.
 */
export function definitionParts(
  template: Template,
  stateMachineId?: string,
): [separator: string, parts: unknown[]] {
  const all = template.findResources('AWS::StepFunctions::StateMachine');
  const machines = stateMachineId ? [all[stateMachineId]].filter(Boolean) : Object.values(all);
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const join = machines[0]?.Properties?.DefinitionString?.['Fn::Join'];
  if (!Array.isArray(join)) throw new Error('the DefinitionString is not an Fn::Join');
  return join as [string, unknown[]];
}
