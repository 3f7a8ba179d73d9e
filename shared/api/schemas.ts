import { z } from 'zod';
import { ProvisionRequestSchema } from '../provision/schemas';

/**
 * The HTTP API's shapes. Request schemas validate what callers send; response schemas document what
 * they get back. Both feed `openapi.ts`, so the OpenAPI document cannot drift from the code.
 */

export const TENANT_STATUSES = [
  'provisioning',
  'active',
  'failed',
  'cancelled',
  'disabled',
  'scheduled_for_deletion',
  'deprovisioning',
  'deprovisioned',
] as const;

export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export const STEP_STATUSES = [
  'pending',
  'running',
  'retrying',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
] as const;

/** The schemas that get a name in the OpenAPI document's components. */
export const apiSchemas = z.registry<{ id: string }>();

// ---- requests ------------------------------------------------------------------------------

/** `POST /tenants`: a Provision request. Unknown fields are refused, so a typo is not ignored. */
export const StartTenantSchema = ProvisionRequestSchema.strict().register(apiSchemas, {
  id: 'StartTenantRequest',
});
export type StartTenant = z.infer<typeof StartTenantSchema>;

const limit = (max: number, fallback: number) =>
  z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`)
    .default(fallback);

export const ListTenantsQuerySchema = z
  .object({
    status: z.enum(TENANT_STATUSES).optional(),
    limit: limit(500, 50),
    /** Keyset paging: the `nextToken` of the previous page (the last tenant id on it). */
    nextToken: z.string().min(1).optional(),
  })
  .strict();
export type ListTenantsQuery = z.infer<typeof ListTenantsQuerySchema>;

export const PageQuerySchema = z
  .object({ limit: limit(1000, 100), nextToken: z.string().min(1).optional() })
  .strict();
export type PageQuery = z.infer<typeof PageQuerySchema>;

export const TenantIdParamSchema = z.object({ tenantId: z.string().min(1) });
/** An execution's name, or its full ARN (URL-encoded). */
export const ExecutionIdParamSchema = z.object({
  executionId: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^(arn:[\w:/-]+|[\w-]{1,80})$/, 'must be an execution name or execution ARN'),
});

// ---- responses -----------------------------------------------------------------------------

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
    status: z.enum(TENANT_STATUSES),
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
  })
  .register(apiSchemas, { id: 'Tenant' });

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
    tenantStatus: z.enum(TENANT_STATUSES).nullable(),
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
  })
  .register(apiSchemas, { id: 'Stats' });
export type Stats = z.infer<typeof StatsSchema>;
