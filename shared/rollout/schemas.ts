import * as z from 'zod';
import { LabelsSchema } from '../labels';
import { TENANT_STATUSES } from '../registry/lifecycle';
import { tenantIdProblem } from '../tenant-id';
import { lazySchema, lazySchemas } from '../validation';

const TenantIdSchema = lazySchema(() =>
  z.string().superRefine((id, ctx) => {
    const problem = tenantIdProblem(id);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/** How many of a wave: a count of tenants, or a percentage of those selected (at least one). */
export const SizeSchema = lazySchema(() =>
  z.union([
    z.object({ count: z.number().int().min(1).max(100_000) }).strict(),
    z.object({ percent: z.number().gt(0).max(100) }).strict(),
  ]),
);
export type Size = z.infer<typeof SizeSchema>;

/** The canary wave: a size, or the tenants named. */
export const CanarySchema = lazySchema(() =>
  z.union([SizeSchema, z.object({ tenants: z.array(TenantIdSchema).min(1).max(1000) }).strict()]),
);
export type Canary = z.infer<typeof CanarySchema>;

/** When a wave halts the rollout: more failures than this many, or than this share of the wave. */
export const ThresholdSchema = lazySchema(() =>
  z.union([
    z.object({ count: z.number().int().min(0).max(100_000) }).strict(),
    z.object({ percent: z.number().min(0).max(100) }).strict(),
  ]),
);
export type Threshold = z.infer<typeof ThresholdSchema>;

/** Which tenants a rollout takes: those of the blueprint below the target, narrowed by these. */
export const SelectorSchema = lazySchema(() =>
  z
    .object({
      /** Only these tenants. */
      tenantIds: z.array(TenantIdSchema).min(1).max(100_000).optional(),
      /** Only tenants made from this template (its id). */
      template: z.string().min(1).max(100).optional(),
      /**
       * Only tenants in these statuses. Tenants selected in any other status than active are listed
       * as skipped, with the reason: only an active tenant can be migrated. @default ['active']
       */
      statuses: z.array(z.enum(TENANT_STATUSES)).min(1).optional(),
      /** Only tenants with every one of these labels (shared/labels.ts). */
      labels: LabelsSchema.refine((l) => Object.keys(l).length > 0, {
        message: 'names at least one label',
      }).optional(),
    })
    .strict(),
);
export type Selector = z.infer<typeof SelectorSchema>;

/** What a rollout is asked to do: the body of `POST /rollouts`, and `tenantry rollout start`. */
export const RolloutRequestSchema = lazySchema(() =>
  z
    .object({
      blueprint: z.string().min(1).max(100),
      /** The version to reach; the blueprint's newest when absent. */
      targetVersion: z.number().int().positive().optional(),
      selector: SelectorSchema.default({}),
      /** The first wave. @default 5% of the selected tenants, at least one */
      canary: CanarySchema.default({ percent: 5 }),
      /** Each later wave is this many times the one before it (the last takes the rest). @default 2 */
      growth: z.number().min(1).max(100).default(2),
      /** Explicit sizes of the waves after the canary, the last repeated; instead of `growth`. */
      waveSizes: z.array(z.number().int().min(1).max(100_000)).min(1).max(100).optional(),
      /** Tenants migrating at once within a wave. @default 4 */
      concurrency: z.number().int().min(1).max(1000).default(4),
      /** Halts after the canary when its failures pass this. @default { count: 0 }: any failure */
      canaryHaltAt: ThresholdSchema.default({ count: 0 }),
      /** Halts after a later wave when its failures pass this. @default { percent: 5 } */
      haltAt: ThresholdSchema.default({ percent: 5 }),
      requestedBy: z.string().trim().min(1).max(200).default('unknown'),
    })
    .strict(),
);
export type RolloutRequest = z.infer<typeof RolloutRequestSchema>;

export interface PlannedTenant {
  readonly tenantId: string;
  readonly fromVersion: number;
}

export interface PlannedWave {
  /** 0 is the canary. */
  readonly wave: number;
  readonly tenants: readonly PlannedTenant[];
  /** The failures this wave tolerates before the rollout halts (Step Functions' ToleratedFailureCount). */
  readonly toleratedFailureCount: number;
  /** ... as a share (ToleratedFailurePercentage), when the threshold is one. */
  readonly toleratedFailurePercentage?: number;
}

export interface SkippedTenant {
  readonly tenantId: string;
  readonly status: string;
  readonly reason: string;
}

export interface RolloutPlan {
  readonly blueprint: string;
  readonly targetVersion: number;
  readonly selected: number;
  readonly waves: readonly PlannedWave[];
  readonly skipped: readonly SkippedTenant[];
  /** The migrations each from-version gets, by version. */
  readonly migrations: Readonly<Record<string, readonly string[]>>;
  readonly concurrency: number;
}

/**
 * The input of a Rollout execution: the rollout's id and what it was asked to do. Not strict: the
 * state document also carries what the workflow put there (the Map's caught error, `waveFailure`).
 */
export const RolloutInputSchema = lazySchema(() =>
  z.object({
    ...RolloutRequestSchema.unwrap().shape,
    rolloutId: z.string().regex(/^[a-z0-9-]{1,64}$/),
  }),
);
export type RolloutInput = z.infer<typeof RolloutInputSchema>;

export const RolloutOutputSchemas = lazySchemas({
  Select: () =>
    z.object({
      rolloutId: z.string(),
      status: z.string(),
      resumed: z.boolean(),
      targetVersion: z.number().int(),
      waves: z.number().int(),
      tenants: z.number().int(),
      skipped: z.number().int(),
      /** The Map's MaxConcurrency. */
      concurrency: z.number().int(),
    }),
  NextWave: () =>
    z.object({
      action: z.enum(['wave', 'cancelled', 'paused', 'done']),
      wave: z.number().int().optional(),
      /** Where the wave's items are (the Map's ItemReader): a JSON array in the backup store. */
      bucket: z.string().optional(),
      key: z.string().optional(),
      tenants: z.number().int().optional(),
      toleratedFailureCount: z.number().int().optional(),
      toleratedFailurePercentage: z.number().optional(),
    }),
  FinishWave: () =>
    z.object({
      wave: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      halted: z.boolean(),
      reason: z.string().nullable(),
    }),
});
