import * as z from 'zod';
import { DeprovisionTargetSchema } from '../deprovision/schemas';
import { MigrateOutputSchemas } from '../migrate/schemas';
import { IndexWarningSchema, RoutineReportSchema } from '../provision/schemas';
import { RolloutOutputSchemas } from '../rollout/schemas';
import { lazySchemas } from '../validation';

/**
 * What each control function callControl calls returns, as zod schemas keyed by the function's name
 * (its file is `sql/functions/<name>.sql`). callControl parses every result with its function's
 * schema: a function that answers something else is a DatabaseError, never a wrong cast. Every key
 * a function returns is listed, so parsing drops nothing a caller passes on. Each is built at its
 * first call: a bundle builds the schemas of the functions its handler calls.
 */
export const CONTROL_RESULTS = lazySchemas({
  claim_tenant: () => z.object({ claimed: z.boolean(), previousStatus: z.string().nullable() }),
  claim_restore: () =>
    z.object({
      displayName: z.string(),
      schemaName: z.string(),
      blueprint: z.string(),
      blueprintVersion: z.number().int(),
      manifest: z.string(),
      /** The domains it holds again; those another tenant took meanwhile are forgotten, and listed. */
      domains: z.array(z.string()),
      unavailableDomains: z.array(z.object({ host: z.string(), heldBy: z.string() })),
      /** The tenant had a login of its own: the restore makes it again (CreateLogin). */
      login: z.boolean(),
    }),
  create_tenant_schema: () =>
    z.object({ schema: z.string(), created: z.boolean(), ownedByExecution: z.boolean() }),
  sync_migrations: () =>
    z.object({ applied: z.array(z.number().int()), routines: z.array(RoutineReportSchema) }),
  secure_routines: () =>
    z.object({
      routines: z.array(RoutineReportSchema),
      unmatchedDeclarations: z.array(z.string()),
    }),
  create_indexes: () =>
    z.object({
      created: z.number().int(),
      existing: z.number().int(),
      warnings: z.array(IndexWarningSchema),
    }),
  seed_tables: () => z.object({ inserted: z.record(z.string(), z.number().int()) }),
  apply_settings: () =>
    z.object({
      template: z.string(),
      version: z.number().int(),
      settings: z.record(z.string(), z.unknown()),
      limits: z.record(z.string(), z.unknown()),
    }),
  register_tenant: () =>
    z.object({
      status: z.string(),
      provisionedAt: z.string().nullable(),
      alreadyRegistered: z.boolean(),
    }),
  cleanup_tenant: () =>
    z.object({
      owned: z.boolean(),
      droppedSchema: z.boolean(),
      status: z.string().nullable(),
      /** The tenant's login role when it was to have one: the caller deletes that login's secret. */
      loginRole: z.string().nullable(),
    }),
  begin_deprovision: () => DeprovisionTargetSchema,
  disable_tenant: () => z.object({ status: z.literal('disabled') }),
  drop_tenant_schema: () =>
    z.object({
      dropped: z.boolean(),
      archivedAuditRows: z.number().int(),
      droppedLogin: z.boolean(),
      /** The tenant's login role when it has one: the step deletes that login's secret. */
      loginRole: z.string().nullable(),
    }),
  begin_tenant_login: () => z.object({ role: z.string(), database: z.string(), schema: z.string() }),
  create_tenant_login: () => z.object({ role: z.string(), secret: z.string(), created: z.boolean() }),
  finalize_deprovision: () =>
    z.object({
      status: z.string(),
      backupLocation: z.string(),
      deprovisionedAt: z.string(),
    }),
  deprovision_cleanup: () =>
    z.object({
      owned: z.boolean(),
      reenabled: z.boolean(),
      status: z.string().nullable(),
    }),
  schedule_deletion: () => z.object({ scheduleName: z.string(), dueAt: z.string() }),
  cancel_deletion: () => z.object({ scheduleName: z.string(), status: z.string() }),
  claim_migration: () =>
    z.object({
      claimed: z.boolean(),
      schemaName: z.string(),
      blueprint: z.string(),
      fromVersion: z.number().int(),
      toVersion: z.number().int(),
    }),
  apply_migrations: () => MigrateOutputSchemas.ApplyMigrations.omit({ fingerprint: true }),
  record_migration: () => MigrateOutputSchemas.Record,
  migrate_cleanup: () =>
    z.object({
      owned: z.boolean(),
      status: z.string().nullable(),
      version: z.number().int().nullable(),
    }),
  begin_rollout: () => RolloutOutputSchemas.Select.omit({ concurrency: true }),
  next_wave: () =>
    z.discriminatedUnion('action', [
      z.object({ action: z.enum(['cancelled', 'paused', 'done']) }),
      z.object({
        action: z.literal('wave'),
        wave: z.number().int(),
        items: z.array(
          z.object({
            tenantId: z.string(),
            name: z.string(),
            rolloutId: z.string(),
            targetVersion: z.number().int(),
            requestedBy: z.string(),
          }),
        ),
        toleratedFailureCount: z.number().int(),
        toleratedFailurePercentage: z.number(),
      }),
    ]),
  finish_wave: () => RolloutOutputSchemas.FinishWave,
  rollout_request: () =>
    z.object({
      rolloutId: z.string(),
      status: z.string(),
      pauseRequested: z.boolean(),
      cancelRequested: z.boolean(),
    }),
  rollout_cleanup: () => z.object({ owned: z.boolean(), status: z.string().nullable() }),
  record_drift: () => z.object({ drifted: z.boolean(), checkedAt: z.string(), changed: z.boolean() }),
  set_domains: () => z.object({ domains: z.array(z.string()), previous: z.array(z.string()) }),
});

export type ControlFunction = keyof typeof CONTROL_RESULTS;
export type ControlResult<F extends ControlFunction> = z.infer<(typeof CONTROL_RESULTS)[F]>;
