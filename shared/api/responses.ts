import * as z from 'zod';
import { DriftReportSchema, TenantDriftSchema } from '../drift/schemas';
import { FINDING_KINDS } from '../reconcile/records';
import { apiSchemas, EXECUTION_STATUSES, STEP_STATUSES, TenantStatusSchema } from './schemas';

/**
 * What the HTTP API's routes answer, registered in `apiSchemas` for the OpenAPI document
 * (./openapi.ts) and used by the clients (the CLI, the console) to check what they get. The routes
 * themselves only take these as types: no route's Lambda but GET /openapi.json's builds them.
 */

export { apiSchemas };

export const RolloutStartedSchema = z
  .object({
    rolloutId: z.string(),
    executionId: z.string(),
    executionName: z.string(),
    /** False when this same request had already started it (idempotent start). */
    started: z.boolean(),
    statusUrl: z.string(),
  })
  .register(apiSchemas, { id: 'RolloutStarted' });
export type RolloutStarted = z.infer<typeof RolloutStartedSchema>;

const PlannedTenantSchema = z.object({ tenantId: z.string(), fromVersion: z.number().int() });
export const RolloutPlanSchema = z
  .object({
    blueprint: z.string(),
    targetVersion: z.number().int(),
    selected: z.number().int(),
    waves: z.array(
      z.object({
        wave: z.number().int(),
        tenants: z.array(PlannedTenantSchema),
        toleratedFailureCount: z.number().int(),
        toleratedFailurePercentage: z.number().optional(),
      }),
    ),
    skipped: z.array(z.object({ tenantId: z.string(), status: z.string(), reason: z.string() })),
    migrations: z.record(z.string(), z.array(z.string())),
    concurrency: z.number().int(),
  })
  .register(apiSchemas, { id: 'RolloutPlan' });

const RolloutSummarySchema = z.object({
  rolloutId: z.string(),
  blueprint: z.string(),
  targetVersion: z.number().int(),
  status: z.enum(['running', 'paused', 'halted', 'cancelled', 'succeeded', 'failed']),
  haltReason: z.string().nullable(),
  pauseRequested: z.boolean(),
  cancelRequested: z.boolean(),
  executionId: z.string().nullable(),
  request: z.record(z.string(), z.unknown()),
  requestedBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});

export const RolloutSchema = RolloutSummarySchema.extend({
  counts: z.record(z.string(), z.number().int()),
  waves: z.array(z.object({ wave: z.number().int(), counts: z.record(z.string(), z.number().int()) })),
  tenants: z.array(
    z.object({
      tenantId: z.string(),
      wave: z.number().int(),
      status: z.string(),
      fromVersion: z.number().int(),
      toVersion: z.number().int(),
      attempts: z.number().int(),
      executionName: z.string().nullable(),
      error: z.unknown(),
      reason: z.string().nullable(),
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
    }),
  ),
  nextToken: z.string().optional(),
}).register(apiSchemas, { id: 'Rollout' });

export const RolloutPageSchema = z
  .object({ items: z.array(RolloutSummarySchema), nextToken: z.string().optional() })
  .register(apiSchemas, { id: 'RolloutPage' });

export const RolloutActionSchema = z
  .object({
    rolloutId: z.string(),
    status: z.string(),
    pauseRequested: z.boolean(),
    cancelRequested: z.boolean(),
    /** A resume: the execution that resumes it. */
    executionName: z.string().optional(),
    started: z.boolean().optional(),
  })
  .register(apiSchemas, { id: 'RolloutAction' });

export const FieldErrorSchema = z.object({ field: z.string(), reason: z.string() });

/** The one error shape of every route (RFC 9457 problem details, plus field errors). */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(FieldErrorSchema).optional(),
    requestId: z.string().optional(),
  })
  .register(apiSchemas, { id: 'Problem' });
export type Problem = z.infer<typeof ProblemSchema>;

export const StartedExecutionSchema = z
  .object({
    executionId: z.string(),
    executionName: z.string(),
    tenantId: z.string(),
    /** False when this request had already started it (idempotent start, or a repeated redrive). */
    started: z.boolean(),
    statusUrl: z.string(),
    redriveOf: z.string().optional(),
  })
  .register(apiSchemas, { id: 'StartedExecution' });
export type StartedExecutionResponse = z.infer<typeof StartedExecutionSchema>;

export const TenantSchema = z
  .object({
    tenantId: z.string(),
    displayName: z.string(),
    schemaName: z.string(),
    status: TenantStatusSchema,
    blueprint: z.string(),
    blueprintVersion: z.number().int(),
    requestedBy: z.string(),
    executionId: z.string(),
    failedStep: z.string().nullable(),
    lastError: z.unknown(),
    warnings: z.array(z.unknown()),
    summary: z.record(z.string(), z.unknown()).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    provisionedAt: z.string().nullable(),
    templateId: z.string().nullable(),
    templateName: z.string().nullable(),
    /** The version of the template it was provisioned from (a tenant keeps it). */
    templateVersion: z.number().int().nullable(),
    /** The template version's settings, as stored on the tenant ({} without a template); numbers exact. */
    settings: z.record(z.string(), z.unknown()),
    /** The template version's limits, as stored on the tenant; numbers exact. */
    limits: z.record(z.string(), z.unknown()),
    /** The hosts that resolve to it (GET /resolve), in their order; none once deprovisioned. */
    domains: z.array(z.string()),
    /** When a scheduled deprovisioning runs. */
    deletionDueAt: z.string().nullable(),
    backupLocation: z.string().nullable(),
    deprovisionedAt: z.string().nullable(),
    /** What the last verify found different from the blueprint's lock; null when nothing, or never verified. */
    drift: TenantDriftSchema.nullable(),
    driftCheckedAt: z.string().nullable(),
    /** Labels to pick the tenant out by (a rollout's selector). */
    labels: z.record(z.string(), z.string()),
    /**
     * The tenant's own login while it has one (asked for with `login`): its role and where its
     * password is, a Secrets Manager ARN or a local file's path; never the password. Null without one.
     */
    login: z.object({ role: z.string(), secret: z.string() }).nullable(),
  })
  .register(apiSchemas, { id: 'Tenant' });

/** `GET /resolve`: what an application needs to serve a tenant (shared/registry/resolve.ts). */
export const ResolvedTenantSchema = z
  .object({
    tenantId: z.string(),
    schema: z.string(),
    /** The tenant schema's database role, `tenantry.tenant_role(schema)`. */
    role: z.string(),
    status: TenantStatusSchema,
    blueprint: z.string(),
    blueprintVersion: z.number().int(),
    /** The template and the version of it the tenant was provisioned from; null without one. */
    template: z.object({ id: z.string(), name: z.string(), version: z.number().int() }).nullable(),
    /** As stored; a number past 2^53 is written exactly as Postgres holds it. */
    settings: z.record(z.string(), z.unknown()),
    limits: z.record(z.string(), z.unknown()),
    domains: z.array(z.string()),
  })
  .register(apiSchemas, { id: 'ResolvedTenant' });

export const DriftReportResponseSchema = DriftReportSchema.register(apiSchemas, { id: 'DriftReport' });

export const TemplateSchema = z
  .object({
    templateId: z.string(),
    name: z.string(),
    category: z.string(),
    status: z.enum(['active', 'archived', 'deleted']),
    currentVersion: z.number().int(),
    definition: z.record(z.string(), z.unknown()),
    /** Live tenants made from any version of it. */
    tenants: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .register(apiSchemas, { id: 'Template' });

export const TemplateListSchema = z
  .object({ items: z.array(TemplateSchema) })
  .register(apiSchemas, { id: 'TemplateList' });

export const TemplateVersionListSchema = z
  .object({
    items: z.array(
      z.object({
        templateId: z.string(),
        version: z.number().int(),
        definition: z.record(z.string(), z.unknown()),
        createdBy: z.string(),
        createdAt: z.string(),
      }),
    ),
  })
  .register(apiSchemas, { id: 'TemplateVersionList' });

/** A deprovisioning started now: the execution, as `POST /tenants` answers. */
export const DeprovisionStartedSchema = z
  .object({
    scheduled: z.literal(false),
    executionId: z.string(),
    executionName: z.string(),
    tenantId: z.string(),
    started: z.boolean(),
    statusUrl: z.string(),
  })
  .register(apiSchemas, { id: 'DeprovisionStarted' });
export type DeprovisionStarted = z.infer<typeof DeprovisionStartedSchema>;

/** A deprovisioning scheduled after a grace period. */
export const DeprovisionScheduledSchema = z
  .object({ scheduled: z.literal(true), tenantId: z.string(), dueAt: z.string(), scheduleName: z.string() })
  .register(apiSchemas, { id: 'DeprovisionScheduled' });
export type DeprovisionScheduled = z.infer<typeof DeprovisionScheduledSchema>;

export const DeprovisionCancelledSchema = z
  .object({ tenantId: z.string(), status: TenantStatusSchema, scheduleName: z.string() })
  .register(apiSchemas, { id: 'DeprovisionCancelled' });

export const AuditEntrySchema = z
  .object({
    /** The entry's id (a bigint, as text). */
    id: z.string(),
    /** The tenant, or `rollout:<id>` for a rollout's own entries. */
    tenantId: z.string(),
    action: z.string(),
    /** Who did it: the caller the API authenticated, or the workflow's requester. */
    actor: z.string(),
    executionId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
    at: z.string(),
  })
  .register(apiSchemas, { id: 'AuditEntry' });

export const AuditPageSchema = z
  .object({ items: z.array(AuditEntrySchema), nextToken: z.string().optional() })
  .register(apiSchemas, { id: 'AuditPage' });

export const ReconciliationSchema = z
  .object({
    id: z.string(),
    startedAt: z.string(),
    finishedAt: z.string(),
    /** Whether it repaired what is safe to repair, or only reported. */
    repair: z.boolean(),
    actor: z.string(),
    /** Findings by kind. */
    counts: z.record(z.string(), z.number().int()),
    findings: z.array(
      z.object({
        kind: z.enum(FINDING_KINDS),
        tenantId: z.string().optional(),
        schema: z.string().optional(),
        executionId: z.string().optional(),
        detail: z.string(),
        repaired: z.string().optional(),
      }),
    ),
  })
  .register(apiSchemas, { id: 'Reconciliation' });

export const TenantPageSchema = z
  .object({ items: z.array(TenantSchema), nextToken: z.string().optional() })
  .register(apiSchemas, { id: 'TenantPage' });

export const ExecutionSummarySchema = z
  .object({
    executionId: z.string(),
    name: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    startedAt: z.string(),
    stoppedAt: z.string().nullable(),
  })
  .register(apiSchemas, { id: 'ExecutionSummary' });

export const ExecutionPageSchema = z
  .object({ items: z.array(ExecutionSummarySchema), nextToken: z.string().optional() })
  .register(apiSchemas, { id: 'ExecutionPage' });

export const StepErrorSchema = z.object({ error: z.string(), cause: z.string() });

export const StepSchema = z
  .object({
    name: z.string(),
    status: z.enum(STEP_STATUSES),
    attempts: z.number().int(),
    invocations: z.number().int().optional(),
    startedAt: z.string().optional(),
    endedAt: z.string().optional(),
    durationMs: z.number().optional(),
    warnings: z.array(z.string()),
    error: StepErrorSchema.optional(),
  })
  .register(apiSchemas, { id: 'Step' });

export const ExecutionSchema = z
  .object({
    executionId: z.string(),
    name: z.string(),
    tenantId: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    startedAt: z.string(),
    stoppedAt: z.string().nullable(),
    error: StepErrorSchema.optional(),
    steps: z.array(StepSchema),
    /** The execution this one redrives, if it is a redrive. */
    redriveOf: z.string().optional(),
    /** The execution that redrove this one, once there is one. */
    redrivenBy: z.string().optional(),
  })
  .register(apiSchemas, { id: 'Execution' });
export type ExecutionResponse = z.infer<typeof ExecutionSchema>;

export const HistoryPageSchema = z
  .object({
    items: z.array(
      z
        .looseObject({ id: z.number(), timestamp: z.string(), type: z.string() })
        .register(apiSchemas, { id: 'HistoryEvent' }),
    ),
    nextToken: z.string().optional(),
  })
  .register(apiSchemas, { id: 'HistoryPage' });

export const CancelledSchema = z
  .object({
    executionId: z.string(),
    status: z.enum(EXECUTION_STATUSES),
    tenantId: z.string(),
    tenantStatus: TenantStatusSchema.nullable(),
    /** The step the execution had reached when it was stopped. */
    stoppedInStep: z.string(),
    droppedSchema: z.boolean(),
  })
  .register(apiSchemas, { id: 'Cancelled' });

const DurationStatsSchema = z.object({
  count: z.number().int(),
  averageMs: z.number().nullable(),
  p95Ms: z.number().nullable(),
});

export const StatsSchema = z
  .object({
    tenants: z.object({
      total: z.number().int(),
      byStatus: z.record(z.string(), z.number().int()),
      byBlueprint: z.record(z.string(), z.record(z.string(), z.number().int())),
      /** Live tenants (not failed, cancelled or deprovisioned) per template id: the total and per version. */
      byTemplate: z.record(
        z.string(),
        z.object({ total: z.number().int(), byVersion: z.record(z.string(), z.number().int()) }),
      ),
      /** Active tenants by what their last verify found: `drifted` ones, `clean` ones, `unverified` ones. */
      drift: z.object({ drifted: z.number().int(), clean: z.number().int(), unverified: z.number().int() }),
    }),
    executions: z.object({
      started: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      cancelled: z.number().int(),
      rejected: z.number().int(),
      /** Of the finished executions; null before any has finished. */
      successRate: z.number().nullable(),
      failureRate: z.number().nullable(),
      duration: DurationStatsSchema,
    }),
    running: z.object({
      count: z.number().int(),
      tenants: z.array(z.object({ tenantId: z.string(), executionId: z.string(), since: z.string() })),
    }),
    /**
     * Local engine only: the metrics its handlers emitted (shared/observability/catalog.ts), per
     * name and dimensions. On AWS they are CloudWatch metrics in the Tenantry namespace instead.
     */
    metrics: z
      .array(
        z.object({
          name: z.string(),
          dimensions: z.record(z.string(), z.string()),
          unit: z.string(),
          points: z.number().int(),
          total: z.number(),
        }),
      )
      .optional(),
  })
  .register(apiSchemas, { id: 'Stats' });
export type Stats = z.infer<typeof StatsSchema>;
