import * as z from 'zod';
import { DeprovisionRequestSchema } from '../deprovision/schemas';
import { DomainsSchema, HostSchema } from '../domains';
import { LabelsSchema } from '../labels';
import { MigrateRequestSchema } from '../migrate/schemas';
import { ProvisionRequestSchema } from '../provision/schemas';
import { TENANT_STATUSES } from '../registry/lifecycle';
import { RolloutRequestSchema } from '../rollout/schemas';
import { TemplateDefinitionSchema } from '../templates/schema';
import { TENANT_ID_MAX, tenantIdProblem } from '../tenant-id';
import { lazySchema } from '../validation';

/**
 * The HTTP API's request shapes: what callers send, validated by each route (./route-table.ts).
 * What they get back is in ./responses.ts, which only GET /openapi.json's Lambda loads: those
 * schemas document (the OpenAPI document) and check answers on the client side (the CLI, the console).
 * Both register in `apiSchemas` and feed ./openapi.ts, so the document cannot drift from the code.
 */

export { TENANT_STATUSES } from '../registry/lifecycle';

/** A tenant's status, as the API takes and gives it (shared/registry/lifecycle.ts defines them). */
export const TenantStatusSchema = z.enum(TENANT_STATUSES);

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

/**
 * The schemas that get a name in the OpenAPI document's components: the requests below register
 * when this module loads, the responses when ./responses.ts does (./openapi.ts loads both).
 */
export const apiSchemas = z.registry<{ id: string }>();

// ---- requests ------------------------------------------------------------------------------

/**
 * The admin user a template creates, as a caller sends it: with a plain password, which the route
 * hashes before anything else sees it. Only the hash reaches the workflow, its history and the database.
 */
export const AdminUserInputSchema = lazySchema(() =>
  z
    .object({
      email: z.email('must be an email address').max(254),
      name: z.string().trim().min(1).max(200).optional(),
      password: z.string().min(12, 'must be at least 12 characters').max(1024),
    })
    .strict(),
).register(apiSchemas, { id: 'AdminUserInput' });
export type AdminUserInput = z.infer<typeof AdminUserInputSchema>;

/** `POST /tenants`: a Provision request. Unknown fields are refused, so a typo is not ignored. */
export const StartTenantSchema = lazySchema(() =>
  ProvisionRequestSchema.unwrap()
    .omit({ actor: true })
    .extend({ adminUser: AdminUserInputSchema.optional() })
    .strict(),
).register(apiSchemas, { id: 'StartTenantRequest' });
export type StartTenant = z.infer<typeof StartTenantSchema>;

/** `POST /templates/{id}/provision`: a Provision request whose template is the one in the path. */
export const ProvisionFromTemplateSchema = lazySchema(() =>
  StartTenantSchema.unwrap().omit({ blueprint: true, template: true }).strict(),
).register(apiSchemas, { id: 'ProvisionFromTemplateRequest' });
export type ProvisionFromTemplate = z.infer<typeof ProvisionFromTemplateSchema>;

/** `POST /templates`, `PUT /templates/{id}`: a template definition (a PUT makes a new version). */
export const TemplateRequestSchema = lazySchema(() => TemplateDefinitionSchema.unwrap().strict()).register(
  apiSchemas,
  { id: 'TemplateRequest' },
);

/** `POST /tenants/{tenantId}/deprovision`: now, or after a grace period (in hours). */
export const DeprovisionBodySchema = lazySchema(() =>
  DeprovisionRequestSchema.unwrap().omit({ tenantId: true, scheduleName: true, actor: true }).strict(),
).register(apiSchemas, { id: 'DeprovisionRequest' });
export type DeprovisionBody = z.infer<typeof DeprovisionBodySchema>;

/** `POST /tenants/{tenantId}/migrate`: the target version (the newest when absent) and the timeouts. */
export const MigrateBodySchema = lazySchema(() =>
  MigrateRequestSchema.unwrap().omit({ tenantId: true, requestedBy: true, rolloutId: true }).strict(),
).register(apiSchemas, { id: 'MigrateRequest' });
export type MigrateBody = z.infer<typeof MigrateBodySchema>;

/** `POST /rollouts` and `POST /rollouts/plan`: which tenants, to which version, in which waves. */
export const RolloutBodySchema = lazySchema(() =>
  RolloutRequestSchema.unwrap().omit({ requestedBy: true }).strict(),
).register(apiSchemas, { id: 'RolloutRequest' });
export type RolloutBody = z.infer<typeof RolloutBodySchema>;

/** A rollout id in a path. */
export const RolloutIdParamSchema = z.object({
  rolloutId: z.string().regex(/^[a-z0-9-]{1,64}$/, 'must be a rollout id (lowercase letters, digits and -)'),
});

const limit = (max: number, fallback: number) =>
  z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`)
    .default(fallback);

export const ListTenantsQuerySchema = lazySchema(() =>
  z
    .object({
      status: TenantStatusSchema.optional(),
      limit: limit(500, 50),
      /** Keyset paging: the `nextToken` of the previous page (the last tenant id on it). */
      nextToken: z.string().min(1).optional(),
    })
    .strict(),
);
export type ListTenantsQuery = z.infer<typeof ListTenantsQuerySchema>;

export const ListTemplatesQuerySchema = lazySchema(() =>
  z
    .object({
      includeArchived: z
        .enum(['true', 'false'])
        .default('false')
        .transform((v) => v === 'true'),
    })
    .strict(),
);

/** `GET /audit` and `GET /tenants/{tenantId}/audit`: newest first, filtered by action and time. */
export const AuditQuerySchema = lazySchema(() =>
  z
    .object({
      /** An action (`provision.started`) or a family of them (`provision`). */
      action: z
        .string()
        .regex(
          /^[a-z][a-z_]*(\.[a-z_]+)*$/,
          "must be an action ('provision.started') or a family ('provision')",
        )
        .max(100)
        .optional(),
      /** Entries at or after this instant (ISO 8601 with an offset). */
      since: z.iso.datetime({ offset: true }).optional(),
      /** Entries before this instant. */
      until: z.iso.datetime({ offset: true }).optional(),
      limit: limit(500, 100),
      /** Keyset paging: the `nextToken` of the previous page. */
      nextToken: z
        .string()
        .regex(/^[1-9][0-9]{0,18}$/, 'is not a token this API gave')
        .optional(),
    })
    .strict(),
);
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const PageQuerySchema = lazySchema(() =>
  z.object({ limit: limit(1000, 100), nextToken: z.string().min(1).optional() }).strict(),
);
export type PageQuery = z.infer<typeof PageQuerySchema>;

/** The body of PUT /tenants/{tenantId}/labels: every label the tenant has from now on. */
export const LabelsBodySchema = lazySchema(() => z.object({ labels: LabelsSchema }).strict()).register(
  apiSchemas,
  { id: 'LabelsRequest' },
);
export type LabelsBody = z.infer<typeof LabelsBodySchema>;

/** The body of PUT /tenants/{tenantId}/domains: every host the tenant holds from now on ([] clears them). */
export const DomainsBodySchema = lazySchema(() => z.object({ domains: DomainsSchema }).strict()).register(
  apiSchemas,
  { id: 'DomainsRequest' },
);
export type DomainsBody = z.infer<typeof DomainsBodySchema>;

/** A tenant id: one that breaks the tenant id rules names no tenant, and is a 400. */
const TenantIdSchema = z
  .string()
  .min(1)
  .max(TENANT_ID_MAX)
  .superRefine((id, ctx) => {
    const problem = tenantIdProblem(id);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A tenant id in a path. */
export const TenantIdParamSchema = z.object({ tenantId: TenantIdSchema });

/** `GET /resolve`: exactly one of `host` (matched exactly once normalised) and `id` (a tenant id). */
export const ResolveQuerySchema = lazySchema(() =>
  z
    .object({ host: HostSchema.optional(), id: TenantIdSchema.optional() })
    .strict()
    .superRefine((q, ctx) => {
      if ((q.host === undefined) === (q.id === undefined)) {
        const reason =
          q.host === undefined ? 'give host=<host name> or id=<tenant id>' : 'give host or id, not both';
        for (const field of ['host', 'id']) ctx.addIssue({ code: 'custom', path: [field], message: reason });
      }
    }),
);
export type ResolveQuery = z.infer<typeof ResolveQuerySchema>;
/** A template's id or its name. */
export const TemplateIdParamSchema = z.object({ templateId: z.string().min(1).max(100) });
/** An execution's name, or its full ARN (URL-encoded). */
export const ExecutionIdParamSchema = z.object({
  executionId: z
    .string()
    .min(1)
    .max(2048)
    .regex(/^(arn:[\w:/-]+|[\w-]{1,80})$/, 'must be an execution name or execution ARN'),
});
