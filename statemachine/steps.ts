import {
  DEFAULT_TASK_TIMEOUT_SECONDS,
  type StepDefinition,
  stepEntry,
  WORKFLOWS,
  type WorkflowName,
} from '../shared/workflows';

/**
 * The workflows' task states, as the state machines and infra use them: the steps of
 * shared/workflows.ts (the one definition) with the handler file behind each. `infra/` turns
 * every entry into a Lambda (NodejsFunction `entry`), the local engine imports the same file.
 */
export { DEFAULT_TASK_TIMEOUT_SECONDS };

export interface TaskStep extends StepDefinition {
  /** Handler file, relative to the repository root. */
  readonly entry: string;
}

/** A workflow's step with its handler file, as infra and the local engine need it. */
const tasksOf = (workflow: WorkflowName, steps: readonly StepDefinition[]): TaskStep[] =>
  steps.map((step) => ({ ...step, entry: stepEntry(workflow, step.state) }));

export const PROVISION_STEPS: readonly TaskStep[] = tasksOf('Provision', WORKFLOWS.Provision.steps);
export const PROVISION_CLEANUP: TaskStep = tasksOf('Provision', [WORKFLOWS.Provision.cleanup])[0] as TaskStep;

export type ProvisionStepName = (typeof WORKFLOWS)['Provision']['steps'][number]['state'];

/** Every task state of the Provision workflow, in console order, Cleanup last. */
export const PROVISION_TASKS: readonly TaskStep[] = [...PROVISION_STEPS, PROVISION_CLEANUP];

export const PROVISION_SUCCEEDED_STATE = 'Provisioned';
/** The Choice that sends template requests through the template steps. */
export const PROVISION_TEMPLATE_CHOICE = 'UsesTemplate';
/** The Choice that sends restores to RestoreRows instead of Seed and the template steps. */
export const PROVISION_RESTORE_CHOICE = 'RestoresBackup';
/** The Choice that sends a tenant that gets a login of its own through CreateLogin. */
export const PROVISION_LOGIN_CHOICE = 'GetsLogin';
export const PROVISION_FAILED_STATE = 'ProvisioningFailed';

export const DEPROVISION_STEPS: readonly TaskStep[] = tasksOf('Deprovision', WORKFLOWS.Deprovision.steps);
export const DEPROVISION_CLEANUP: TaskStep = tasksOf('Deprovision', [
  WORKFLOWS.Deprovision.cleanup,
])[0] as TaskStep;

export const DEPROVISION_TASKS: readonly TaskStep[] = [...DEPROVISION_STEPS, DEPROVISION_CLEANUP];
export const DEPROVISION_SUCCEEDED_STATE = 'Deprovisioned';
/** The Choice after Backup: another invocation until the backup says it is done. */
export const DEPROVISION_BACKUP_CHOICE = 'BackupFinished';
export const DEPROVISION_FAILED_STATE = 'DeprovisioningFailed';

export const MIGRATE_STEPS: readonly TaskStep[] = tasksOf('Migrate', WORKFLOWS.Migrate.steps);
export const MIGRATE_CLEANUP: TaskStep = tasksOf('Migrate', [WORKFLOWS.Migrate.cleanup])[0] as TaskStep;

export const MIGRATE_TASKS: readonly TaskStep[] = [...MIGRATE_STEPS, MIGRATE_CLEANUP];
export const MIGRATE_SUCCEEDED_STATE = 'Migrated';
export const MIGRATE_FAILED_STATE = 'MigrationFailed';

export const ROLLOUT_STEPS: readonly TaskStep[] = tasksOf('Rollout', WORKFLOWS.Rollout.steps);
export const ROLLOUT_CLEANUP: TaskStep = tasksOf('Rollout', [WORKFLOWS.Rollout.cleanup])[0] as TaskStep;
export const ROLLOUT_TASKS: readonly TaskStep[] = [...ROLLOUT_STEPS, ROLLOUT_CLEANUP];
/** The Distributed Map that migrates one wave's tenants, a Migrate execution each. */
export const ROLLOUT_WAVE_STATE = 'Wave';
/** Inside it: the task that starts one tenant's Migrate execution and waits for it. */
export const ROLLOUT_MIGRATE_TENANT_STATE = 'MigrateTenant';
export const ROLLOUT_ACTION_CHOICE = 'WhatNext';
export const ROLLOUT_HALT_CHOICE = 'WaveHalts';
export const ROLLOUT_SUCCEEDED_STATE = 'RolloutSucceeded';
export const ROLLOUT_PAUSED_STATE = 'RolloutPaused';
export const ROLLOUT_CANCELLED_STATE = 'RolloutCancelled';
export const ROLLOUT_HALTED_STATE = 'RolloutHalted';
export const ROLLOUT_FAILED_STATE = 'RolloutFailed';
