import * as z from 'zod';
import { DomainsSchema } from '../domains';
import { LabelsSchema } from '../labels';
import { AdminUserRequestSchema } from '../templates/schema';
import { tenantIdProblem } from '../tenant-id';
import { lazySchema, lazySchemas } from '../validation';

/** What a caller asks for: the input of a Provision execution. */
export const ProvisionRequestSchema = lazySchema(() =>
  z.object({
    tenantId: z.string().superRefine((id, ctx) => {
      const problem = tenantIdProblem(id);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    displayName: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    /** The blueprint; optional when a template names it. */
    blueprint: z.string().min(1, 'must name a blueprint').optional(),
    /** A template id or name: its current version is used. */
    template: z.string().min(1).max(100).optional(),
    /** The admin user a template creates; the password arrives hashed (see shared/templates/password.ts). */
    adminUser: AdminUserRequestSchema.unwrap().strict().optional(),
    /** Labels to pick the tenant out by later (a rollout's selector): shared/labels.ts. */
    labels: LabelsSchema.optional(),
    /** The hosts applications resolve to the tenant (GET /resolve): shared/domains.ts. */
    domains: DomainsSchema.optional(),
    /**
     * A login of the tenant's own: a LOGIN role with exactly its role's rights, its password in a
     * secret (README "Tenant access"). A template with `login` gives every tenant one.
     */
    login: z.boolean().optional(),
    requestedBy: z.string().trim().min(1).max(200).default('unknown'),
    /**
     * Who asked, as the API authenticated them (the IAM principal on AWS, the OS user locally): the
     * actor of the audit entries. Set by the route or the CLI, never taken from a request body;
     * `requestedBy` is the request's own note.
     */
    actor: z.string().trim().min(1).max(500).optional(),
  }),
);
export type ProvisionRequest = z.infer<typeof ProvisionRequestSchema>;

/** A restore: re-provision a deprovisioned tenant from its backup (the registry knows the rest). */
export const RestoreRequestSchema = lazySchema(() =>
  z.object({
    tenantId: ProvisionRequestSchema.unwrap().shape.tenantId,
    restore: z.literal(true),
    requestedBy: z.string().trim().min(1).max(200).default('unknown'),
  }),
);
export type RestoreRequest = z.infer<typeof RestoreRequestSchema>;

export const TemplateRefSchema = lazySchema(() =>
  z.object({ id: z.string(), version: z.number().int().positive() }),
);

/** What Validate settles for the rest of the run. */
export const ProvisionPlanSchema = lazySchema(() =>
  z.object({
    tenantId: z.string(),
    displayName: z.string(),
    schemaName: z.string(),
    blueprint: z.string(),
    blueprintVersion: z.number().int().positive(),
    requestedBy: z.string(),
    template: TemplateRefSchema.optional(),
    adminUser: AdminUserRequestSchema.optional(),
    labels: LabelsSchema.optional(),
    domains: z.array(z.string()).optional(),
    actor: z.string().optional(),
    /** The tenant gets a login of its own (CreateLogin): asked for, by its template, or had one (a restore). */
    login: z.literal(true).optional(),
    /** Set for a restore: the backup manifest RestoreRows loads. */
    restore: z.object({ manifest: z.string() }).optional(),
    /** What the run should know of, kept on the tenant by Register (a restore's domains it could not take back). */
    warnings: z.array(z.string()).optional(),
  }),
);
export type ProvisionPlan = z.infer<typeof ProvisionPlanSchema>;

export const ExecutionRefSchema = lazySchema(() =>
  z.object({
    id: z.string().min(1),
    name: z.string().min(1),
    startTime: z.string().min(1),
    /** `$$.State.RetryCount`: 0 on entering the step, one more at each retry of it. */
    retryCount: z.number().int().nonnegative().optional(),
  }),
);
export type ExecutionRef = z.infer<typeof ExecutionRefSchema>;

export const IndexWarningSchema = lazySchema(() =>
  z.object({ index: z.string(), code: z.string(), message: z.string() }),
);
export type IndexWarning = z.infer<typeof IndexWarningSchema>;

/**
 * What SyncTables (and `blueprint lock`) did to one routine of the tenant schema
 * (registry/sql/functions/secure_routines.sql): `pinned` to the tenant schema and pg_temp, kept as
 * the blueprint set it `from-current`, a declared SECURITY `definer` (pinned, owned by `owner`), or
 * `skipped` (a language other than sql/plpgsql, left as it is). `routine` is name(identity arguments).
 */
export const RoutineReportSchema = lazySchema(() =>
  z.object({
    routine: z.string(),
    kind: z.enum(['function', 'procedure']),
    language: z.string(),
    action: z.enum(['pinned', 'from-current', 'definer', 'skipped']),
    owner: z.string().optional(),
  }),
);
export type RoutineReport = z.infer<typeof RoutineReportSchema>;

export const StepOutputSchemas = lazySchemas({
  Validate: () =>
    ProvisionPlanSchema.unwrap().extend({ claimed: z.boolean(), previousStatus: z.string().nullable() }),
  CreateSchema: () => z.object({ schema: z.string(), created: z.boolean(), ownedByExecution: z.boolean() }),
  SyncTables: () =>
    z.object({
      applied: z.array(z.number()),
      version: z.number(),
      routines: z.array(RoutineReportSchema),
    }),
  CreateIndexes: () =>
    z.object({
      created: z.number(),
      existing: z.number(),
      warnings: z.array(IndexWarningSchema),
    }),
  Seed: () => z.object({ inserted: z.record(z.string(), z.number()), total: z.number() }),
  ApplySettings: () =>
    z.object({
      template: z.string(),
      version: z.number(),
      settings: z.record(z.string(), z.unknown()),
      limits: z.record(z.string(), z.unknown()),
    }),
  CreateAdminUser: () => z.object({ inserted: z.record(z.string(), z.number()), total: z.number() }),
  LoadInitialData: () => z.object({ inserted: z.record(z.string(), z.number()), total: z.number() }),
  RestoreRows: () => z.object({ tables: z.number(), rows: z.number(), inserted: z.number() }),
  /** The login's role and where its secret is (an ARN, a file): never the password. */
  CreateLogin: () => z.object({ role: z.string(), secret: z.string(), created: z.boolean() }).strict(),
  Verify: () =>
    z.object({
      fingerprint: z.string(),
      tables: z.number(),
      indexes: z.number(),
      objects: z.number(),
      missingIndexes: z.array(z.string()),
    }),
  Register: () =>
    z.object({
      status: z.string(),
      provisionedAt: z.string().nullable(),
      alreadyRegistered: z.boolean(),
      summary: z.record(z.string(), z.unknown()),
    }),
});

export type StepOutputs = { [K in keyof typeof StepOutputSchemas]: z.infer<(typeof StepOutputSchemas)[K]> };

/** The error a Catch puts under `$.failure.<StepName>`. */
export const CaughtErrorSchema = lazySchema(() =>
  z.object({ Error: z.string(), Cause: z.string().optional() }),
);

/**
 * The state document the workflow carries: the request's fields at the top, each step's result
 * under `steps.<Step>.output`, a caught error under `failure.<Step>`.
 */
export const WorkflowStateSchema = lazySchema(() =>
  z
    .object({
      steps: z.record(z.string(), z.object({ output: z.unknown() })).optional(),
      failure: z.record(z.string(), CaughtErrorSchema).optional(),
    })
    .passthrough(),
);
export type WorkflowState = z.infer<typeof WorkflowStateSchema>;

/** The payload every step Lambda receives (see statemachine/provision.ts). */
export const StepEventSchema = lazySchema(() =>
  z.object({ state: WorkflowStateSchema, execution: ExecutionRefSchema }),
);
export type StepEvent = z.infer<typeof StepEventSchema>;
