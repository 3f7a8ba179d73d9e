import * as z from 'zod';
import { RoutineReportSchema } from '../provision/schemas';
import { tenantIdProblem } from '../tenant-id';
import { lazySchema, lazySchemas } from '../validation';

/** Bounds of the timeouts ApplyMigrations runs under (milliseconds). */
export const MIGRATION_TIMEOUT_BOUNDS = {
  lockTimeoutMs: { min: 100, max: 60_000, default: 3_000 },
  statementTimeoutMs: { min: 1_000, max: 840_000, default: 300_000 },
} as const;

const timeout = (b: { min: number; max: number; default: number }) =>
  z.number().int().min(b.min).max(b.max).default(b.default);

/** The input of a Migrate execution (and of POST /tenants/{id}/migrate, with the id from the path). */
export const MigrateRequestSchema = lazySchema(() =>
  z.object({
    tenantId: z.string().superRefine((id, ctx) => {
      const problem = tenantIdProblem(id);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    /** The blueprint version to reach; the blueprint's newest when absent. */
    targetVersion: z.number().int().positive().optional(),
    requestedBy: z.string().trim().min(1).max(200).default('unknown'),
    /**
     * How long one lock may be waited for: a migration never queues behind (and so never blocks) the
     * app's traffic for longer. Running out is transient: the step is retried with backoff.
     */
    lockTimeoutMs: timeout(MIGRATION_TIMEOUT_BOUNDS.lockTimeoutMs),
    /** The rollout this migration is part of (set by the Rollout workflow's Map). */
    rolloutId: z
      .string()
      .regex(/^[a-z0-9-]{1,64}$/)
      .optional(),
    /** How long each statement of the migration transaction may run (under the step's 900 s timeout). */
    statementTimeoutMs: timeout(MIGRATION_TIMEOUT_BOUNDS.statementTimeoutMs),
  }),
);
export type MigrateRequest = z.infer<typeof MigrateRequestSchema>;

/** What Validate settles for the rest of the run. */
export const MigratePlanSchema = lazySchema(() =>
  z.object({
    tenantId: z.string(),
    schemaName: z.string(),
    blueprint: z.string(),
    fromVersion: z.number().int().positive(),
    toVersion: z.number().int().positive(),
    requestedBy: z.string(),
    lockTimeoutMs: z.number().int(),
    statementTimeoutMs: z.number().int(),
  }),
);
export type MigratePlan = z.infer<typeof MigratePlanSchema>;

const PendingMigrationSchema = lazySchema(() =>
  z.object({
    version: z.number().int(),
    name: z.string(),
    checksum: z.string(),
  }),
);

export const MigrateOutputSchemas = lazySchemas({
  Validate: () => MigratePlanSchema.unwrap().extend({ claimed: z.boolean() }),
  Plan: () =>
    z.object({
      fromVersion: z.number().int(),
      toVersion: z.number().int(),
      /** The migrations ApplyMigrations will run, in order. */
      pending: z.array(PendingMigrationSchema),
      /** How many applied migrations were checked against the blueprint's checksums. */
      checked: z.number().int(),
    }),
  ApplyMigrations: () =>
    z.object({
      applied: z.array(z.number().int()),
      indexesCreated: z.number().int(),
      version: z.number().int(),
      routines: z.array(RoutineReportSchema),
      fingerprint: z.string(),
    }),
  Verify: () =>
    z.object({
      fingerprint: z.string(),
      /** Catalog objects of the target's lock (compared whole before the commit). */
      objects: z.number().int(),
      /** Ledger entries checked against the blueprint after the commit. */
      migrations: z.number().int(),
    }),
  Record: () => z.object({ status: z.string(), version: z.number().int(), alreadyRecorded: z.boolean() }),
});

export type MigrateOutputs = {
  [K in keyof typeof MigrateOutputSchemas]: z.infer<(typeof MigrateOutputSchemas)[K]>;
};
