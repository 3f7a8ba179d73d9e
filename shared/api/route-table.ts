import type { z } from 'zod';
import type { TenantEventType } from '../events/tenant-events';
import type { LoginSecretAccess } from '../workflows';
import {
  AuditQuerySchema,
  DeprovisionBodySchema,
  DomainsBodySchema,
  ExecutionIdParamSchema,
  LabelsBodySchema,
  ListTemplatesQuerySchema,
  ListTenantsQuerySchema,
  MigrateBodySchema,
  PageQuerySchema,
  ProvisionFromTemplateSchema,
  ResolveQuerySchema,
  RolloutBodySchema,
  RolloutIdParamSchema,
  StartTenantSchema,
  TemplateIdParamSchema,
  TemplateRequestSchema,
  TenantIdParamSchema,
} from './schemas';

/**
 * Every route of the HTTP API, defined once: method, path, what it takes (path parameters, query
 * and body, as the zod schemas that validate them), what it answers, and what it may do on AWS.
 * Everything else is driven from here: the route's handler (`functions/api/<route-id>.ts`, one
 * function, wrapped by `apiRoute` in ./route.ts, which parses the input and shapes the answer),
 * the Lambda per route and its IAM access (infra/constructs/api.ts), the local server, the OpenAPI
 * document (./openapi.ts) and the API client (local/api-client.ts). A new route is one entry here
 * and one function. This module holds data and schemas only: infra reads it without runtime code.
 */

/** What a route may do to Step Functions; infra turns each into IAM actions on the narrowest ARNs. */
export type SfnAccess = 'start' | 'describe' | 'history' | 'stop' | 'list';

type JsonSchema = Record<string, unknown>;

/** A `$ref` to a component of the OpenAPI document. */
export const ref = (id: string): JsonSchema => ({ $ref: `#/components/schemas/${id}` });

export interface ApiRoute {
  /** Also the handler's construct id in infra, and (kebab-cased) its file: see routeEntry. */
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly summary: string;
  /** The path parameters (each `{name}` in the path), validated. */
  readonly params?: z.ZodObject;
  readonly query?: z.ZodType;
  /** The JSON body's schema (a registered component). */
  readonly body?: z.ZodType;
  /** The body may be left out: the schema's defaults apply. @default false */
  readonly bodyOptional?: boolean;
  /** The status of a success and its body: a component's name, or a JSON schema. */
  readonly ok: readonly [status: number, body: string | JsonSchema];
  /** The error statuses the route answers besides 400 for bad input, 413 and 500. */
  readonly errors: readonly number[];
  /** What the route may do to the Provision state machine. @default [] */
  readonly sfn: readonly SfnAccess[];
  /** What the route may do to the Deprovision state machine. @default [] */
  readonly deprovision?: readonly SfnAccess[];
  /** What the route may do to the Migrate state machine. @default [] */
  readonly migrate?: readonly SfnAccess[];
  /** What the route may do to the Rollout state machine. @default [] */
  readonly rollout?: readonly SfnAccess[];
  /** Whether the route creates or deletes deletion schedules (EventBridge Scheduler). @default false */
  readonly scheduling?: boolean;
  /**
   * What the route may do to tenants' login secrets (Secrets Manager on AWS): `delete` for a route
   * that runs a Provision's Cleanup itself (cancel, and the redrive of a timed-out run), which
   * deletes the secret of a login the run made. @default none
   */
  readonly loginSecrets?: LoginSecretAccess;
  /**
   * The events the route publishes for the applications: on AWS its function gets the event bus
   * and `events:PutEvents` on it, as a workflow step that publishes does. @default none
   */
  readonly publishes?: readonly TenantEventType[];
  /** Whether the route reads or writes the registry. @default true */
  readonly database?: boolean;
  /**
   * The route only reads the control schema: on a Postgres server it acts as the read-only
   * database role (`tenantry_reader`, control migration 0017), which cannot write. @default false
   */
  readonly readOnly?: boolean;
}

export const API_ROUTES = [
  {
    id: 'StartTenant',
    body: StartTenantSchema,
    ok: [202, 'StartedExecution'],
    errors: [400, 409],
    method: 'POST',
    path: '/tenants',
    summary: 'Provision a tenant (idempotent: the same request returns the same execution)',
    sfn: ['start', 'describe'],
  },
  {
    id: 'ListTenants',
    readOnly: true,
    query: ListTenantsQuerySchema,
    ok: [200, 'TenantPage'],
    errors: [400],
    method: 'GET',
    path: '/tenants',
    summary: 'List tenants, paged, optionally by status',
    sfn: [],
  },
  {
    id: 'GetTenant',
    readOnly: true,
    params: TenantIdParamSchema,
    ok: [200, 'Tenant'],
    errors: [404],
    method: 'GET',
    path: '/tenants/{tenantId}',
    summary: 'A tenant from the registry',
    sfn: [],
  },
  {
    id: 'SetTenantLabels',
    params: TenantIdParamSchema,
    body: LabelsBodySchema,
    ok: [200, 'Tenant'],
    errors: [400, 404, 409],
    method: 'PUT',
    path: '/tenants/{tenantId}/labels',
    summary: "Replace a tenant's labels (what a rollout's selector matches), audited",
    sfn: [],
  },
  {
    id: 'SetTenantDomains',
    params: TenantIdParamSchema,
    body: DomainsBodySchema,
    ok: [200, 'Tenant'],
    errors: [400, 404, 409],
    method: 'PUT',
    path: '/tenants/{tenantId}/domains',
    summary:
      "Replace a tenant's domains (the hosts GET /resolve maps to it), audited; a host another tenant holds is a 409",
    sfn: [],
    publishes: ['TenantDomainsChanged'],
  },
  {
    id: 'ResolveTenant',
    readOnly: true,
    query: ResolveQuerySchema,
    ok: [200, 'ResolvedTenant'],
    errors: [400, 404, 410],
    method: 'GET',
    path: '/resolve',
    summary:
      'The tenant a host (exact match, case-insensitive) or a tenant id names, as an application needs it: 200 for a tenant in use, 404 unknown (or not provisioned yet), 410 disabled or deprovisioned',
    sfn: [],
  },
  {
    id: 'ListTenantAudit',
    readOnly: true,
    params: TenantIdParamSchema,
    query: AuditQuerySchema,
    ok: [200, 'AuditPage'],
    errors: [400, 404],
    method: 'GET',
    path: '/tenants/{tenantId}/audit',
    summary: "A tenant's audit trail, newest first, paged, filtered by action and time",
    sfn: [],
  },
  {
    id: 'ListAudit',
    readOnly: true,
    query: AuditQuerySchema,
    ok: [200, 'AuditPage'],
    errors: [400],
    method: 'GET',
    path: '/audit',
    summary: 'The audit trail of every tenant and rollout, newest first, paged, filtered by action and time',
    sfn: [],
  },
  {
    id: 'GetReconciliation',
    readOnly: true,
    ok: [200, 'Reconciliation'],
    errors: [404],
    method: 'GET',
    path: '/reconciliation',
    summary:
      'What the reconciler last found (registry, schemas and executions that disagree) and what it repaired',
    sfn: [],
  },
  {
    id: 'GetTenantDrift',
    params: TenantIdParamSchema,
    ok: [200, 'DriftReport'],
    errors: [404, 409, 422],
    method: 'GET',
    path: '/tenants/{tenantId}/drift',
    summary:
      "Verify a live tenant against its blueprint version's lock: what is missing, unexpected or changed (recorded on the tenant)",
    sfn: [],
  },
  {
    id: 'ListTenantExecutions',
    params: TenantIdParamSchema,
    query: PageQuerySchema,
    ok: [200, 'ExecutionPage'],
    errors: [400],
    method: 'GET',
    path: '/tenants/{tenantId}/executions',
    summary: "A tenant's Provision executions, newest first",
    sfn: ['list'],
    database: false,
  },
  {
    id: 'GetExecution',
    params: ExecutionIdParamSchema,
    ok: [200, 'Execution'],
    errors: [400, 404],
    method: 'GET',
    path: '/executions/{executionId}',
    summary: "An execution's status and its steps (Provision or Deprovision)",
    sfn: ['describe', 'history'],
    deprovision: ['describe', 'history'],
    migrate: ['describe', 'history'],
    database: false,
  },
  {
    id: 'GetExecutionHistory',
    params: ExecutionIdParamSchema,
    query: PageQuerySchema,
    ok: [200, 'HistoryPage'],
    errors: [400, 404],
    method: 'GET',
    path: '/executions/{executionId}/history',
    summary: "An execution's raw history events, paged",
    sfn: ['describe', 'history'],
    deprovision: ['describe', 'history'],
    migrate: ['describe', 'history'],
    database: false,
  },
  {
    id: 'CancelExecution',
    params: ExecutionIdParamSchema,
    ok: [200, 'Cancelled'],
    errors: [400, 404, 409],
    method: 'POST',
    path: '/executions/{executionId}/cancel',
    summary:
      'Stop a running execution and clean up after it: a Provision tenant ends cancelled, a Deprovision tenant gets its status back',
    sfn: ['describe', 'history', 'stop'],
    deprovision: ['describe', 'history', 'stop'],
    migrate: ['describe', 'history', 'stop'],
    loginSecrets: 'delete',
  },
  {
    id: 'RedriveExecution',
    params: ExecutionIdParamSchema,
    ok: [202, 'StartedExecution'],
    errors: [400, 404, 409],
    method: 'POST',
    path: '/executions/{executionId}/redrive',
    summary:
      'Run a failed, cancelled or timed-out execution (Provision or Deprovision) again, as a new execution linked to it',
    // history: a timed-out source is cleaned up at the step it had reached before its redrive, and
    // a Deprovision's redrive after its DropSchema carries the backup its source made.
    sfn: ['start', 'describe', 'history'],
    deprovision: ['start', 'describe', 'history'],
    migrate: ['start', 'describe', 'history'],
    loginSecrets: 'delete',
  },
  {
    id: 'DeprovisionTenant',
    params: TenantIdParamSchema,
    body: DeprovisionBodySchema,
    bodyOptional: true,
    ok: [202, { oneOf: [ref('DeprovisionStarted'), ref('DeprovisionScheduled')] }],
    errors: [400, 404, 409],
    method: 'POST',
    path: '/tenants/{tenantId}/deprovision',
    summary: 'Deprovision a tenant now, or schedule it after a grace period',
    sfn: [],
    deprovision: ['start'],
    scheduling: true,
  },
  {
    id: 'CancelDeprovision',
    params: TenantIdParamSchema,
    ok: [200, 'DeprovisionCancelled'],
    errors: [404, 409],
    method: 'DELETE',
    path: '/tenants/{tenantId}/deprovision',
    summary: 'Cancel a scheduled deprovisioning; the tenant gets its status back',
    sfn: [],
    scheduling: true,
  },
  {
    id: 'MigrateTenant',
    params: TenantIdParamSchema,
    body: MigrateBodySchema,
    bodyOptional: true,
    ok: [202, 'StartedExecution'],
    errors: [400, 404, 409],
    method: 'POST',
    path: '/tenants/{tenantId}/migrate',
    summary:
      "Move an active tenant to a newer version of its blueprint (the newest by default), in one transaction (idempotent until the tenant's next change)",
    sfn: [],
    migrate: ['start', 'describe'],
  },
  {
    id: 'PlanRollout',
    body: RolloutBodySchema,
    ok: [200, 'RolloutPlan'],
    errors: [400],
    method: 'POST',
    path: '/rollouts/plan',
    summary: 'The waves a rollout would run (tenants, tolerances, migrations per version), changing nothing',
    sfn: [],
  },
  {
    id: 'StartRollout',
    body: RolloutBodySchema,
    ok: [202, 'RolloutStarted'],
    errors: [400, 409],
    method: 'POST',
    path: '/rollouts',
    summary:
      'Migrate a blueprint fleet to a newer version: a canary, then growing waves, halting when a wave fails past its tolerance (idempotent)',
    sfn: [],
    rollout: ['start', 'describe'],
  },
  {
    id: 'ListRollouts',
    readOnly: true,
    query: PageQuerySchema,
    ok: [200, 'RolloutPage'],
    errors: [400],
    method: 'GET',
    path: '/rollouts',
    summary: 'Rollouts, newest first, paged',
    sfn: [],
  },
  {
    id: 'GetRollout',
    readOnly: true,
    params: RolloutIdParamSchema,
    query: PageQuerySchema,
    ok: [200, 'Rollout'],
    errors: [400, 404],
    method: 'GET',
    path: '/rollouts/{rolloutId}',
    summary: 'A rollout: its status, counts by status and wave, and each tenant (paged, by wave)',
    sfn: [],
  },
  {
    id: 'PauseRollout',
    params: RolloutIdParamSchema,
    ok: [200, 'RolloutAction'],
    errors: [404, 409],
    method: 'POST',
    path: '/rollouts/{rolloutId}/pause',
    summary: 'Pause a running rollout before its next wave',
    sfn: [],
  },
  {
    id: 'ResumeRollout',
    params: RolloutIdParamSchema,
    ok: [200, 'RolloutAction'],
    errors: [404, 409],
    method: 'POST',
    path: '/rollouts/{rolloutId}/resume',
    summary: 'Resume a paused or halted rollout in a new execution; its failed tenants are tried again',
    sfn: [],
    rollout: ['start'],
  },
  {
    id: 'CancelRollout',
    params: RolloutIdParamSchema,
    ok: [200, 'RolloutAction'],
    errors: [404, 409],
    method: 'POST',
    path: '/rollouts/{rolloutId}/cancel',
    summary:
      'Cancel a rollout: no further tenant starts; migrations in flight finish or roll back, none is left half-applied',
    sfn: [],
  },
  {
    id: 'RestoreTenant',
    params: TenantIdParamSchema,
    ok: [202, 'StartedExecution'],
    errors: [400, 404, 409],
    method: 'POST',
    path: '/tenants/{tenantId}/restore',
    summary: 'Re-provision a deprovisioned tenant from its backup (idempotent per backup)',
    sfn: ['start', 'describe'],
  },
  {
    id: 'ListTemplates',
    readOnly: true,
    query: ListTemplatesQuerySchema,
    ok: [200, 'TemplateList'],
    errors: [400],
    method: 'GET',
    path: '/templates',
    summary: 'Templates, by name (archived ones with ?includeArchived=true)',
    sfn: [],
  },
  {
    id: 'CreateTemplate',
    body: TemplateRequestSchema,
    ok: [201, 'Template'],
    errors: [400, 409],
    method: 'POST',
    path: '/templates',
    summary: 'Create a template (version 1), after a dry run of it',
    sfn: [],
  },
  {
    id: 'GetTemplate',
    readOnly: true,
    params: TemplateIdParamSchema,
    ok: [200, 'Template'],
    errors: [404],
    method: 'GET',
    path: '/templates/{templateId}',
    summary: 'A template (by id or name) at its current version',
    sfn: [],
  },
  {
    id: 'UpdateTemplate',
    params: TemplateIdParamSchema,
    body: TemplateRequestSchema,
    ok: [200, 'Template'],
    errors: [400, 404, 409],
    method: 'PUT',
    path: '/templates/{templateId}',
    summary: 'Save a new version of a template, after a dry run of it',
    sfn: [],
  },
  {
    id: 'DeleteTemplate',
    params: TemplateIdParamSchema,
    ok: [204, 'none'],
    errors: [404, 409],
    method: 'DELETE',
    path: '/templates/{templateId}',
    summary: 'Delete a template; refused while tenants use it, unless it is archived',
    sfn: [],
  },
  {
    id: 'ArchiveTemplate',
    params: TemplateIdParamSchema,
    ok: [200, 'Template'],
    errors: [404],
    method: 'POST',
    path: '/templates/{templateId}/archive',
    summary: 'Archive a template: no new tenants from it',
    sfn: [],
  },
  {
    id: 'ListTemplateVersions',
    readOnly: true,
    params: TemplateIdParamSchema,
    ok: [200, 'TemplateVersionList'],
    errors: [404],
    method: 'GET',
    path: '/templates/{templateId}/versions',
    summary: "A template's versions, oldest first",
    sfn: [],
  },
  {
    id: 'ProvisionFromTemplate',
    params: TemplateIdParamSchema,
    body: ProvisionFromTemplateSchema,
    ok: [202, 'StartedExecution'],
    errors: [400, 404, 409],
    method: 'POST',
    path: '/templates/{templateId}/provision',
    summary: 'Provision a tenant from a template (idempotent, as POST /tenants)',
    sfn: ['start', 'describe'],
  },
  {
    id: 'GetStats',
    readOnly: true,
    ok: [200, 'Stats'],
    errors: [],
    method: 'GET',
    path: '/stats',
    summary: 'Tenant and execution statistics',
    sfn: [],
  },
  {
    id: 'GetOpenApi',
    ok: [200, { type: 'object' }],
    errors: [],
    method: 'GET',
    path: '/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document',
    sfn: [],
    database: false,
  },
] as const satisfies readonly ApiRoute[];

export type RouteId = (typeof API_ROUTES)[number]['id'];
export type RouteOf<K extends RouteId> = Extract<(typeof API_ROUTES)[number], { id: K }>;

export function routeById<K extends RouteId>(id: K): RouteOf<K> {
  const route = API_ROUTES.find((r) => r.id === id);
  if (!route) throw new Error(`no route ${id}`);
  return route as RouteOf<K>;
}

/** A route's handler file, relative to the repository root: `functions/api/<route-id in kebab case>.ts`. */
export function routeEntry(route: Pick<ApiRoute, 'id'>): string {
  return `functions/api/${route.id.replace(/(?<!^)([A-Z])/g, '-$1').toLowerCase()}.ts`;
}

/** The path with its `{name}` parameters filled in, each URL-encoded. */
export function routePath(
  route: Pick<ApiRoute, 'path'>,
  params: Readonly<Record<string, string>> = {},
): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`route ${route.path} needs the path parameter ${name}`);
    return encodeURIComponent(value);
  });
}
