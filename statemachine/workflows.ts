import { readFileSync } from 'node:fs';
import { WORKFLOWS as WORKFLOW_DEFINITIONS, type WorkflowName } from '../shared/workflows';
import {
  DEPROVISION_CLEANUP,
  DEPROVISION_TASKS,
  MIGRATE_CLEANUP,
  MIGRATE_TASKS,
  PROVISION_CLEANUP,
  PROVISION_TASKS,
  ROLLOUT_CLEANUP,
  ROLLOUT_TASKS,
  type TaskStep,
} from './steps';

/**
 * The workflows as data, without CDK: what the local engine, the CLI and the server need at run
 * time. Their ASL is rendered from the CDK chains at build time (`npm run asl`, statemachine/render.ts)
 * into statemachine/asl/, and test/infra/asl.test.ts fails if a committed file differs from what
 * renders now. Nothing here may import aws-cdk-lib: it costs ~1 s at every start.
 */

/** The plain ASL document of a workflow, as Step Functions (and aws-local-stepfunctions) reads it. */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, Record<string, unknown>>;
  readonly TimeoutSeconds?: number;
  readonly Comment?: string;
}

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/** A Lambda ARN for a state, used where no real function exists (local engine, rendering). */
export function localFunctionArn(state: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:tenantry-${state}`;
}

export interface Workflow {
  readonly name: string;
  readonly tasks: readonly TaskStep[];
  /** The task every caught failure goes to (one of `tasks`). */
  readonly cleanup: TaskStep;
  readonly timeoutSeconds: number;
  /** The rendered ASL, relative to the repository root. */
  readonly aslFile: string;
}

export const PROVISION: Workflow = {
  name: 'Provision',
  tasks: PROVISION_TASKS,
  cleanup: PROVISION_CLEANUP,
  timeoutSeconds: WORKFLOW_DEFINITIONS.Provision.timeoutSeconds,
  aslFile: 'statemachine/asl/provision.asl.json',
};

export const DEPROVISION: Workflow = {
  name: 'Deprovision',
  tasks: DEPROVISION_TASKS,
  cleanup: DEPROVISION_CLEANUP,
  timeoutSeconds: WORKFLOW_DEFINITIONS.Deprovision.timeoutSeconds,
  aslFile: 'statemachine/asl/deprovision.asl.json',
};

export const MIGRATE: Workflow = {
  name: 'Migrate',
  tasks: MIGRATE_TASKS,
  cleanup: MIGRATE_CLEANUP,
  timeoutSeconds: WORKFLOW_DEFINITIONS.Migrate.timeoutSeconds,
  aslFile: 'statemachine/asl/migrate.asl.json',
};

export const ROLLOUT: Workflow = {
  name: 'Rollout',
  tasks: ROLLOUT_TASKS,
  cleanup: ROLLOUT_CLEANUP,
  timeoutSeconds: WORKFLOW_DEFINITIONS.Rollout.timeoutSeconds,
  aslFile: 'statemachine/asl/rollout.asl.json',
};

/** Each workflow by its name, as the API's engine port names them. */
export const WORKFLOW_BY_NAME: Readonly<Record<WorkflowName, Workflow>> = {
  Provision: PROVISION,
  Deprovision: DEPROVISION,
  Migrate: MIGRATE,
  Rollout: ROLLOUT,
};

const ROOT = new URL('../', import.meta.url);

/** The workflow's ASL as committed (rendered by `npm run asl`), with placeholder Lambda ARNs. */
export function loadAsl(workflow: Workflow): AslDefinition {
  return JSON.parse(readFileSync(new URL(workflow.aslFile, ROOT), 'utf8')) as AslDefinition;
}
