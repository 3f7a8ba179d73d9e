import * as z from 'zod';
import { lazySchema } from '../validation';

/** The shapes of a verify's result: recorded on the tenant (tenants.drift) and answered by the API. */

export const CatalogChangeSchema = lazySchema(() =>
  z.object({
    /** The object: its kind and name, as `catalogKey` reads it from a fingerprint line. */
    key: z.string(),
    expected: z.string(),
    actual: z.string(),
  }),
);

/** What a verify found that differs from the lock: recorded on the tenant while it lasts. */
export const TenantDriftSchema = lazySchema(() =>
  z.object({
    blueprintVersion: z.number().int(),
    /** In the lock, not in the schema. */
    missing: z.array(z.string()),
    /** In the schema, not in the lock. */
    unexpected: z.array(z.string()),
    /** In both, different: a missing and an unexpected line for one object. */
    changed: z.array(CatalogChangeSchema),
  }),
);
export type TenantDrift = z.infer<typeof TenantDriftSchema>;

export const DriftReportSchema = lazySchema(() =>
  z.object({
    tenantId: z.string(),
    schemaName: z.string(),
    blueprint: z.string(),
    blueprintVersion: z.number().int(),
    checkedAt: z.string(),
    drifted: z.boolean(),
    /** Catalog lines the lock expects. */
    objects: z.number().int(),
    missing: z.array(z.string()),
    unexpected: z.array(z.string()),
    changed: z.array(CatalogChangeSchema),
  }),
);
export type DriftReport = z.infer<typeof DriftReportSchema>;
