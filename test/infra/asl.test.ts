import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/paths';
import {
  ALL_WORKFLOWS,
  aslText,
  DEPROVISION_WORKFLOW,
  localFunctionArn,
  localStateMachineArn,
  MIGRATE_WORKFLOW,
  PROVISION_WORKFLOW,
  ROLLOUT_WORKFLOW,
  renderAsl,
} from '../../statemachine/render';
import { loadAsl } from '../../statemachine/workflows';
import { definitionParts, logicalId, type Synthesized, synthStack } from './synth';

/**
 * Both sides with every function ARN as `<fn:State>` and every `Fn::Join` / `Ref AWS::Partition`
 * resolved (partition `aws`), so what remains is the workflow itself.
 */
function normalise(value: unknown, functionsByArn: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') {
    const state = functionsByArn.get(value);
    return state ? `<fn:${state}>` : value;
  }
  if (Array.isArray(value)) return value.map((v) => normalise(v, functionsByArn));
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const join = record['Fn::Join'];
    if (Array.isArray(join) && Object.keys(record).length === 1) {
      const [separator, parts] = join as [string, unknown[]];
      return normalise(parts.map((p) => normalise(p, functionsByArn)).join(separator), functionsByArn);
    }
    if (record.Ref === 'AWS::Partition' && Object.keys(record).length === 1) return 'aws';
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, normalise(v, functionsByArn)]));
  }
  return value;
}

describe.each([
  ['Provision', PROVISION_WORKFLOW, (s: Synthesized) => s.stack.provision],
  ['Deprovision', DEPROVISION_WORKFLOW, (s: Synthesized) => s.stack.deprovisioning.workflow],
  ['Migrate', MIGRATE_WORKFLOW, (s: Synthesized) => s.stack.migrate],
  ['Rollout', ROLLOUT_WORKFLOW, (s: Synthesized) => s.stack.rollout],
] as const)('the synthesized %s state machine', (_name, workflow, workflowOf) => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthStack();
  });

  /** The DefinitionString with each token as a placeholder: function ARNs `<fn:State>`, the partition `aws`. */
  function deployedAsl(): unknown {
    const { template } = synthesized;
    const deployed = workflowOf(synthesized);
    const stateByLogicalId = new Map(Object.entries(deployed.functions).map(([s, fn]) => [logicalId(fn), s]));
    const [separator, parts] = definitionParts(template, logicalId(deployed.stateMachine));
    const text = parts
      .map((part) => {
        if (typeof part === 'string') return part;
        const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
        if (token.Ref === 'AWS::Partition') return 'aws';
        // A state machine the workflow starts: the placeholder ARN the rendering names it by.
        if (token.Ref === logicalId(synthesized.stack.migrate.stateMachine))
          return localStateMachineArn('Migrate');
        const [id, attribute] = token['Fn::GetAtt'] ?? [];
        const state = id && stateByLogicalId.get(id);
        if (state && attribute === 'Arn') return `<fn:${state}>`;
        throw new Error(`unexpected token in the definition: ${JSON.stringify(part)}`);
      })
      .join(separator);
    return normalise(JSON.parse(text), new Map());
  }

  it('is the ASL the local engine renders, modulo function ARNs', () => {
    const local = new Map(workflow.tasks.map((t) => [localFunctionArn(t.state), t.state]));
    const rendered = normalise(renderAsl(workflow), local);
    const deployed = deployedAsl();
    expect(deployed).toEqual(rendered);
    // Not vacuous: both sides name every task's function.
    for (const task of workflow.tasks) {
      expect(JSON.stringify(deployed)).toContain(`"FunctionName":"<fn:${task.state}>"`);
    }
  });
});

// The local engine loads the committed ASL and skips validating it at start: it must be exactly
// what the CDK chain renders now (run `npm run asl` after changing a workflow) and valid ASL.
describe.each([...ALL_WORKFLOWS])('the committed ASL of $name', (workflow) => {
  it('is what renderAsl renders now', () => {
    expect(readFileSync(join(REPO_ROOT, workflow.aslFile), 'utf8')).toBe(aslText(workflow));
    expect(loadAsl(workflow)).toEqual(renderAsl(workflow));
    expect(loadAsl(workflow).TimeoutSeconds).toBe(workflow.timeoutSeconds);
  });

  it('passes the validation the engine skips', () => {
    const asl = loadAsl(workflow) as unknown as StateMachineDefinition;
    expect(() => new StateMachine(asl, { validationOptions: { checkArn: false } })).not.toThrow();
    const broken = { ...asl, StartAt: 'Nowhere' } as StateMachineDefinition;
    expect(() => new StateMachine(broken, { validationOptions: { checkArn: false } })).toThrow();
  });
});
