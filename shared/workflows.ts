import * as z from 'zod';
import { DeprovisionOutputSchemas } from './deprovision/schemas';
import type { TenantEventType } from './events/tenant-events';
import { MigrateOutputSchemas } from './migrate/schemas';
import { StepOutputSchemas } from './provision/schemas';
import { RolloutOutputSchemas } from './rollout/schemas';
import { lazySchemas } from './validation';

/**
 * The workflows and their steps, defined once: each workflow's timeout, and each task state's name, order, what it does, whether it runs
 * only for some requests, its timeout, and the schema of what it returns. The state machines
 * (statemachine/), their Lambdas and handler files (`functions/<workflow>/<state in kebab case>.ts`,
 * each one function wrapped by `workflowStep` in shared/lambda/workflow-step.ts, which parses the
 * event and checks the output against the schema here), the local engine and the API's step
 * progress all take them from here. A new step is one entry here and one function.
 */

/** A task's timeout when its step sets none; the Lambda's own timeout is the same. */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 120;

export interface StepDefinition {
  /** The state's name: what the Step Functions console and the step-progress model show. */
  readonly state: string;
  /** What the step does, for people reading the console or `tenantry status`. */
  readonly description: string;
  /**
   * The schema of what the step's Lambda returns, checked before it is returned. A function, built
   * at its first call: a handler builds its own step's schema only, not every workflow's.
   */
  readonly output: () => z.ZodType;
  /** @default DEFAULT_TASK_TIMEOUT_SECONDS */
  readonly timeoutSeconds?: number;
  /** Runs only for requests with a template; otherwise the workflow passes it by (shown as skipped). */
  readonly templateOnly?: boolean;
  /** Runs only when restoring from a backup, in place of Seed and the template steps. */
  readonly restoreOnly?: boolean;
  /**
   * Runs only for a tenant that gets a login of its own: the request's or its template's `login`,
   * or the restore of a tenant that had one; otherwise the workflow passes it by (shown as skipped).
   */
  readonly loginOnly?: boolean;
  /**
   * What the step does to tenants' login secrets (shared/tenant-login/): `write` creates one or
   * replaces its value, `delete` deletes one. On AWS its function gets exactly that, on those
   * secrets only (infra: TenantryDatabase.useTenantLoginSecrets). @default none
   */
  readonly loginSecrets?: LoginSecretAccess;
  /**
   * The events the step publishes for the applications (shared/events/tenant-events.ts). On AWS its
   * function gets the event bus and `events:PutEvents` on it (infra: TenantryDeprovisioning.
   * useEventBus); elsewhere they go to the outbox. @default none
   */
  readonly publishes?: readonly TenantEventType[];
}

/** What a function may do to tenants' login secrets (Secrets Manager on AWS). */
export type LoginSecretAccess = 'write' | 'delete';

const cleanupOutput = () =>
  z.object({ step: z.string(), error: z.string(), cause: z.string(), owned: z.boolean() }).passthrough();

/** The outputs of the steps whose module has no table of its own, built at first use as those are. */
const OTHER_OUTPUTS = lazySchemas({
  ProvisionCleanup: () => cleanupOutput().extend({ droppedSchema: z.boolean() }),
  Disable: () => z.object({ status: z.string() }),
  VerifyBackup: () => z.object({ tables: z.number(), rows: z.number() }),
  Notify: () => z.object({ published: z.string() }),
  DropSchema: () =>
    z.object({ dropped: z.boolean(), archivedAuditRows: z.number(), droppedLogin: z.boolean() }),
  Finalize: () => z.object({ status: z.string(), backupLocation: z.string().nullable() }).passthrough(),
  DeprovisionCleanup: () => cleanupOutput().extend({ reenabled: z.boolean() }),
  MigrateCleanup: () => cleanupOutput().extend({ version: z.number().int().nullable() }),
  RolloutCleanup: () => cleanupOutput().extend({ status: z.string().nullable() }),
});

export const WORKFLOWS = {
  Provision: {
    // A run that has not finished by then has hung somewhere.
    timeoutSeconds: 30 * 60,
    steps: [
      {
        state: 'Validate',
        description: 'Check the request and claim the tenant',
        output: () => StepOutputSchemas.Validate,
      },
      {
        state: 'CreateSchema',
        description: 'Create the tenant schema',
        output: () => StepOutputSchemas.CreateSchema,
      },
      {
        state: 'SyncTables',
        description: 'Apply pending blueprint migrations',
        output: () => StepOutputSchemas.SyncTables,
        timeoutSeconds: 600,
      },
      {
        state: 'CreateIndexes',
        description: 'Create secondary indexes',
        output: () => StepOutputSchemas.CreateIndexes,
        timeoutSeconds: 600,
      },
      {
        state: 'RestoreRows',
        description: "Load the tenant's rows from its backup",
        output: () => StepOutputSchemas.RestoreRows,
        restoreOnly: true,
        timeoutSeconds: 900,
      },
      { state: 'Seed', description: 'Insert baseline data', output: () => StepOutputSchemas.Seed },
      {
        state: 'ApplySettings',
        description: "Record the template's settings and limits",
        output: () => StepOutputSchemas.ApplySettings,
        templateOnly: true,
      },
      {
        state: 'CreateAdminUser',
        description: "Create the template's admin user",
        output: () => StepOutputSchemas.CreateAdminUser,
        templateOnly: true,
      },
      {
        state: 'LoadInitialData',
        description: "Insert the template's initial rows",
        output: () => StepOutputSchemas.LoadInitialData,
        templateOnly: true,
        timeoutSeconds: 600,
      },
      {
        state: 'Verify',
        description: 'Compare the catalog with the blueprint lock',
        output: () => StepOutputSchemas.Verify,
      },
      {
        state: 'CreateLogin',
        description: "Make the tenant's own login, its password in a secret",
        output: () => StepOutputSchemas.CreateLogin,
        loginOnly: true,
        loginSecrets: 'write',
      },
      {
        state: 'Register',
        description: 'Mark the tenant active',
        output: () => StepOutputSchemas.Register,
        publishes: ['TenantRestored'],
      },
    ],
    cleanup: {
      state: 'Cleanup',
      description: 'Undo what this execution made and record the failure',
      output: () => OTHER_OUTPUTS.ProvisionCleanup,
      loginSecrets: 'delete',
    },
  },
  Deprovision: {
    // A backup of a large tenant takes many invocations.
    timeoutSeconds: 2 * 60 * 60,
    steps: [
      {
        state: 'Validate',
        description: 'Check the tenant can be deprovisioned and claim it',
        output: () => DeprovisionOutputSchemas.Validate,
      },
      {
        state: 'Disable',
        description: 'Stop apps resolving the tenant',
        output: () => OTHER_OUTPUTS.Disable,
        publishes: ['TenantDisabled'],
      },
      {
        state: 'Backup',
        description: 'Export every table as COPY text, page by page, with a manifest',
        output: () => DeprovisionOutputSchemas.Backup,
        timeoutSeconds: 900,
      },
      {
        state: 'VerifyBackup',
        description: 'Check the backup against its manifest and the live row counts',
        output: () => OTHER_OUTPUTS.VerifyBackup,
        timeoutSeconds: 600,
      },
      {
        state: 'Notify',
        description: 'Publish TenantDeprovisioned',
        output: () => OTHER_OUTPUTS.Notify,
        publishes: ['TenantDeprovisioned'],
      },
      {
        state: 'DropSchema',
        description: "Keep the audit rows if asked, then drop the tenant's login, schema and role",
        output: () => OTHER_OUTPUTS.DropSchema,
        timeoutSeconds: 300,
        loginSecrets: 'delete',
      },
      {
        state: 'Finalize',
        description: 'Mark the tenant deprovisioned',
        output: () => OTHER_OUTPUTS.Finalize,
      },
    ],
    cleanup: {
      state: 'Cleanup',
      description: 'Re-enable the tenant if its schema is still there, and record the failure',
      output: () => OTHER_OUTPUTS.DeprovisionCleanup,
    },
  },
  Migrate: {
    // ApplyMigrations may wait out its retries of lock timeouts (about 3.5 minutes) and run 15.
    timeoutSeconds: 30 * 60,
    steps: [
      {
        state: 'Validate',
        description: 'Check the tenant and the target version, and claim the tenant',
        output: () => MigrateOutputSchemas.Validate,
      },
      {
        state: 'Plan',
        description: 'Check the applied migrations and list the pending ones',
        output: () => MigrateOutputSchemas.Plan,
      },
      {
        state: 'ApplyMigrations',
        description: 'Apply them in one transaction, under lock and statement timeouts',
        output: () => MigrateOutputSchemas.ApplyMigrations,
        timeoutSeconds: 900,
      },
      {
        state: 'Verify',
        description: "Compare the catalog with the target version's lock",
        output: () => MigrateOutputSchemas.Verify,
      },
      {
        state: 'Record',
        description: 'Mark the tenant active at its new version',
        output: () => MigrateOutputSchemas.Record,
        publishes: ['TenantMigrated'],
      },
    ],
    cleanup: {
      state: 'Cleanup',
      description: 'Make the tenant active again on its committed version, and record the failure',
      output: () => OTHER_OUTPUTS.MigrateCleanup,
    },
  },
  Rollout: {
    // A fleet of thousands in waves; each tenant's migration is its own Migrate execution.
    timeoutSeconds: 24 * 60 * 60,
    steps: [
      {
        state: 'Select',
        description: "Select the tenants and plan the waves (or resume the rollout's plan)",
        output: () => RolloutOutputSchemas.Select,
      },
      {
        state: 'NextWave',
        description: 'Start the next wave: its tenants checked again and written for the Map',
        output: () => RolloutOutputSchemas.NextWave,
      },
      {
        state: 'FinishWave',
        description: "Record each tenant's outcome; halt when the failures pass the wave's tolerance",
        output: () => RolloutOutputSchemas.FinishWave,
      },
    ],
    cleanup: {
      state: 'Cleanup',
      description: 'Halt the rollout with the error, to be resumed',
      output: () => OTHER_OUTPUTS.RolloutCleanup,
    },
  },
} as const satisfies Readonly<
  Record<
    string,
    {
      /** How long one execution may run in all. */
      readonly timeoutSeconds: number;
      readonly steps: readonly StepDefinition[];
      readonly cleanup: StepDefinition;
    }
  >
>;

export type WorkflowName = keyof typeof WORKFLOWS;

/** The task states of a workflow: its steps, then Cleanup. */
export type TaskStateOf<W extends WorkflowName> =
  | (typeof WORKFLOWS)[W]['steps'][number]['state']
  | (typeof WORKFLOWS)[W]['cleanup']['state'];

/** Every task state of a workflow, in console order, Cleanup last. */
export function taskStates(workflow: WorkflowName): readonly StepDefinition[] {
  const { steps, cleanup } = WORKFLOWS[workflow];
  return [...steps, cleanup];
}

export function stepOf(workflow: WorkflowName, state: string): StepDefinition {
  const step = taskStates(workflow).find((s) => s.state === state);
  if (!step) throw new Error(`the ${workflow} workflow has no state ${state}`);
  return step;
}

/** A step's handler file, relative to the repository root: `functions/<workflow>/<state in kebab case>.ts`. */
export function stepEntry(workflow: WorkflowName, state: string): string {
  return `functions/${workflow.toLowerCase()}/${state.replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase()}.ts`;
}
