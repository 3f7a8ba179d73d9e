import * as z from 'zod';
import { BackupCursorSchema } from '../backup/export';
import { tenantIdProblem } from '../tenant-id';
import { lazySchema, lazySchemas } from '../validation';

/** The input of a Deprovision execution (and of the deprovision route). */
export const DeprovisionRequestSchema = lazySchema(() =>
  z.object({
    tenantId: z.string().superRefine((id, ctx) => {
      const problem = tenantIdProblem(id);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    requestedBy: z.string().trim().min(1).max(200).default('unknown'),
    /** Who asked, as the API authenticated them: see ProvisionRequestSchema's `actor`. */
    actor: z.string().trim().min(1).max(500).optional(),
    reason: z.string().trim().max(1000).optional(),
    /** Keep the tenant's own audit rows in the control schema after its schema is dropped. */
    preserveAuditLogs: z.boolean().default(true),
    /** Keep the backup for good; otherwise the bucket's lifecycle rule expires it. */
    preserveBackups: z.boolean().default(false),
    /** Passed on in the TenantDeprovisioned event for apps to tell the tenant's users. */
    notifyUsers: z.boolean().default(false),
    /** How long to wait before running (a scheduled deletion); 0 runs now. */
    gracePeriodHours: z
      .number()
      .min(0)
      .max(24 * 90)
      .default(0),
    /** Set by the scheduler on the run a schedule starts: the run only proceeds while it is live. */
    scheduleName: z.string().min(1).max(64).optional(),
  }),
);
export type DeprovisionRequest = z.infer<typeof DeprovisionRequestSchema>;

export const DeprovisionTargetSchema = lazySchema(() =>
  z.object({
    schema: z.string(),
    previousStatus: z.string(),
    blueprint: z.string(),
    blueprintVersion: z.number(),
    templateId: z.string().nullable(),
    templateVersion: z.number().nullable(),
    /**
     * The schema is already gone: this run redrives one that failed after its DropSchema, so the
     * steps before the drop pass, and Finalize records the backup that run made (`resumeBackup`).
     */
    schemaDropped: z.boolean().default(false),
  }),
);

/**
 * A Backup invocation's output. A backup too long for one invocation returns `done: false` with
 * the cursor to go on from, and the workflow invokes Backup again; the last one writes the
 * manifest and returns its key.
 */
export const BackupOutputSchema = lazySchema(() =>
  z.union([
    z.object({
      done: z.literal(true),
      manifestKey: z.string(),
      location: z.string(),
      tables: z.number(),
      rows: z.number(),
      invocations: z.number().int().positive(),
    }),
    z.object({
      done: z.literal(false),
      cursor: BackupCursorSchema,
      location: z.string(),
      rows: z.number(),
      invocations: z.number().int().positive(),
    }),
  ]),
);
export type BackupOutput = z.infer<typeof BackupOutputSchema>;

export const DeprovisionOutputSchemas = lazySchemas({
  Validate: () => DeprovisionRequestSchema.unwrap().extend({ target: DeprovisionTargetSchema }),
  Backup: () => BackupOutputSchema,
});
