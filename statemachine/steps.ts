/**
 * The workflows' task states and the handler file behind each. `infra/` turns every entry into a
 * Lambda (NodejsFunction `entry`), the local engine imports the same file: one list, no drift.
 * Paths are relative to the repository root.
 */
/** A task's timeout when its step sets none; the Lambda's own timeout is the same. */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 120;

export interface TaskStep {
  /** The state's name: what the Step Functions console and the step-progress model show. */
  readonly state: string;
  /** Handler file, relative to the repository root. */
  readonly entry: string;
  /** What the step does, for people reading the console or `tenantry status`. */
  readonly description: string;
  /** @default DEFAULT_TASK_TIMEOUT_SECONDS */
  readonly timeoutSeconds?: number;
  /** Runs only for requests with a template; otherwise the workflow passes it by (shown as skipped). */
  readonly templateOnly?: boolean;
  /** Runs only when restoring from a backup, in place of Seed and the template steps. */
  readonly restoreOnly?: boolean;
}

export const PROVISION_STEPS = [
  {
    state: 'Validate',
    entry: 'functions/provision/validate.ts',
    description: 'Check the request and claim the tenant',
  },
  {
    state: 'CreateSchema',
    entry: 'functions/provision/create-schema.ts',
    description: 'Create the tenant schema',
  },
  {
    state: 'SyncTables',
    entry: 'functions/provision/sync-tables.ts',
    description: 'Apply pending blueprint migrations',
    timeoutSeconds: 600,
  },
  {
    state: 'CreateIndexes',
    entry: 'functions/provision/create-indexes.ts',
    description: 'Create secondary indexes',
    timeoutSeconds: 600,
  },
  {
    state: 'RestoreRows',
    entry: 'functions/provision/restore-rows.ts',
    description: "Load the tenant's rows from its backup",
    restoreOnly: true,
    timeoutSeconds: 900,
  },
  { state: 'Seed', entry: 'functions/provision/seed.ts', description: 'Insert baseline data' },
  {
    state: 'ApplySettings',
    entry: 'functions/provision/apply-settings.ts',
    description: "Record the template's settings and limits",
    templateOnly: true,
  },
  {
    state: 'CreateAdminUser',
    entry: 'functions/provision/create-admin-user.ts',
    description: "Create the template's admin user",
    templateOnly: true,
  },
  {
    state: 'LoadInitialData',
    entry: 'functions/provision/load-initial-data.ts',
    description: "Insert the template's initial rows",
    templateOnly: true,
    timeoutSeconds: 600,
  },
  {
    state: 'Verify',
    entry: 'functions/provision/verify.ts',
    description: 'Compare the catalog with the blueprint lock',
  },
  { state: 'Register', entry: 'functions/provision/register.ts', description: 'Mark the tenant active' },
] as const satisfies readonly TaskStep[];

export const PROVISION_CLEANUP: TaskStep = {
  state: 'Cleanup',
  entry: 'functions/provision/cleanup.ts',
  description: 'Undo what this execution made and record the failure',
};

export type ProvisionStepName = (typeof PROVISION_STEPS)[number]['state'];

/** Every task state of the Provision workflow, in console order, Cleanup last. */
export const PROVISION_TASKS: readonly TaskStep[] = [...PROVISION_STEPS, PROVISION_CLEANUP];

export const PROVISION_SUCCEEDED_STATE = 'Provisioned';
/** The Choice that sends template requests through the template steps. */
export const PROVISION_TEMPLATE_CHOICE = 'UsesTemplate';
/** The Choice that sends restores to RestoreRows instead of Seed and the template steps. */
export const PROVISION_RESTORE_CHOICE = 'RestoresBackup';
export const PROVISION_FAILED_STATE = 'ProvisioningFailed';

export const DEPROVISION_STEPS = [
  {
    state: 'Validate',
    entry: 'functions/deprovision/validate.ts',
    description: 'Check the tenant can be deprovisioned and claim it',
  },
  {
    state: 'Disable',
    entry: 'functions/deprovision/disable.ts',
    description: 'Stop apps resolving the tenant',
  },
  {
    state: 'Backup',
    entry: 'functions/deprovision/backup.ts',
    description: 'Export every table as COPY text, page by page, with a manifest',
    timeoutSeconds: 900,
  },
  {
    state: 'VerifyBackup',
    entry: 'functions/deprovision/verify-backup.ts',
    description: 'Check the backup against its manifest and the live row counts',
    timeoutSeconds: 600,
  },
  { state: 'Notify', entry: 'functions/deprovision/notify.ts', description: 'Publish TenantDeprovisioned' },
  {
    state: 'DropSchema',
    entry: 'functions/deprovision/drop-schema.ts',
    description: 'Keep the audit rows if asked, then drop the tenant schema',
    timeoutSeconds: 300,
  },
  {
    state: 'Finalize',
    entry: 'functions/deprovision/finalize.ts',
    description: 'Mark the tenant deprovisioned',
  },
] as const satisfies readonly TaskStep[];

export const DEPROVISION_CLEANUP: TaskStep = {
  state: 'Cleanup',
  entry: 'functions/deprovision/cleanup.ts',
  description: 'Re-enable the tenant if its schema is still there, and record the failure',
};

export const DEPROVISION_TASKS: readonly TaskStep[] = [...DEPROVISION_STEPS, DEPROVISION_CLEANUP];
export const DEPROVISION_SUCCEEDED_STATE = 'Deprovisioned';
/** The Choice after Backup: another invocation until the backup says it is done. */
export const DEPROVISION_BACKUP_CHOICE = 'BackupFinished';
export const DEPROVISION_FAILED_STATE = 'DeprovisioningFailed';
