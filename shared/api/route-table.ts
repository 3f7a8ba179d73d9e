/**
 * Every route of the HTTP API and the handler file behind it. `infra/` makes one Lambda per entry
 * (with exactly the Step Functions access listed), the local server maps requests to the same
 * files: one list, no drift. Paths use API Gateway's `{param}` syntax; `entry` is relative to the
 * repository root. This module holds data only, so infra can read it without loading runtime code.
 */

/** What a route may do to Step Functions; infra turns each into IAM actions on the narrowest ARNs. */
export type SfnAccess = 'start' | 'describe' | 'history' | 'stop' | 'list';

export interface ApiRoute {
  /** Also the handler's construct id in infra. */
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly entry: string;
  readonly summary: string;
  /** What the route may do to the Provision state machine. @default [] */
  readonly sfn: readonly SfnAccess[];
  /** What the route may do to the Deprovision state machine. @default [] */
  readonly deprovision?: readonly SfnAccess[];
  /** Whether the route creates or deletes deletion schedules (EventBridge Scheduler). @default false */
  readonly scheduling?: boolean;
  /** Whether the route reads or writes the registry. @default true */
  readonly database?: boolean;
}

export const API_ROUTES = [
  {
    id: 'StartTenant',
    method: 'POST',
    path: '/tenants',
    entry: 'functions/api/start-tenant.ts',
    summary: 'Provision a tenant (idempotent: the same request returns the same execution)',
    sfn: ['start', 'describe'],
  },
  {
    id: 'ListTenants',
    method: 'GET',
    path: '/tenants',
    entry: 'functions/api/list-tenants.ts',
    summary: 'List tenants, paged, optionally by status',
    sfn: [],
  },
  {
    id: 'GetTenant',
    method: 'GET',
    path: '/tenants/{tenantId}',
    entry: 'functions/api/get-tenant.ts',
    summary: 'A tenant from the registry',
    sfn: [],
  },
  {
    id: 'ListTenantExecutions',
    method: 'GET',
    path: '/tenants/{tenantId}/executions',
    entry: 'functions/api/list-tenant-executions.ts',
    summary: "A tenant's Provision executions, newest first",
    sfn: ['list'],
    database: false,
  },
  {
    id: 'GetExecution',
    method: 'GET',
    path: '/executions/{executionId}',
    entry: 'functions/api/get-execution.ts',
    summary: "An execution's status and its steps (Provision or Deprovision)",
    sfn: ['describe', 'history'],
    deprovision: ['describe', 'history'],
    database: false,
  },
  {
    id: 'GetExecutionHistory',
    method: 'GET',
    path: '/executions/{executionId}/history',
    entry: 'functions/api/get-execution-history.ts',
    summary: "An execution's raw history events, paged",
    sfn: ['describe', 'history'],
    deprovision: ['describe', 'history'],
    database: false,
  },
  {
    id: 'CancelExecution',
    method: 'POST',
    path: '/executions/{executionId}/cancel',
    entry: 'functions/api/cancel-execution.ts',
    summary:
      'Stop a running execution and clean up after it: a Provision tenant ends cancelled, a Deprovision tenant gets its status back',
    sfn: ['describe', 'history', 'stop'],
    deprovision: ['describe', 'history', 'stop'],
  },
  {
    id: 'RedriveExecution',
    method: 'POST',
    path: '/executions/{executionId}/redrive',
    entry: 'functions/api/redrive-execution.ts',
    summary:
      'Run a failed, cancelled or timed-out execution (Provision or Deprovision) again, as a new execution linked to it',
    // history: a timed-out source is cleaned up at the step it had reached before its redrive, and
    // a Deprovision's redrive after its DropSchema carries the backup its source made.
    sfn: ['start', 'describe', 'history'],
    deprovision: ['start', 'describe', 'history'],
  },
  {
    id: 'DeprovisionTenant',
    method: 'POST',
    path: '/tenants/{tenantId}/deprovision',
    entry: 'functions/api/deprovision-tenant.ts',
    summary: 'Deprovision a tenant now, or schedule it after a grace period',
    sfn: [],
    deprovision: ['start'],
    scheduling: true,
  },
  {
    id: 'CancelDeprovision',
    method: 'DELETE',
    path: '/tenants/{tenantId}/deprovision',
    entry: 'functions/api/cancel-deprovision.ts',
    summary: 'Cancel a scheduled deprovisioning; the tenant gets its status back',
    sfn: [],
    scheduling: true,
  },
  {
    id: 'RestoreTenant',
    method: 'POST',
    path: '/tenants/{tenantId}/restore',
    entry: 'functions/api/restore-tenant.ts',
    summary: 'Re-provision a deprovisioned tenant from its backup (idempotent per backup)',
    sfn: ['start', 'describe'],
  },
  {
    id: 'ListTemplates',
    method: 'GET',
    path: '/templates',
    entry: 'functions/api/list-templates.ts',
    summary: 'Templates, by name (archived ones with ?includeArchived=true)',
    sfn: [],
  },
  {
    id: 'CreateTemplate',
    method: 'POST',
    path: '/templates',
    entry: 'functions/api/create-template.ts',
    summary: 'Create a template (version 1), after a dry run of it',
    sfn: [],
  },
  {
    id: 'GetTemplate',
    method: 'GET',
    path: '/templates/{templateId}',
    entry: 'functions/api/get-template.ts',
    summary: 'A template (by id or name) at its current version',
    sfn: [],
  },
  {
    id: 'UpdateTemplate',
    method: 'PUT',
    path: '/templates/{templateId}',
    entry: 'functions/api/update-template.ts',
    summary: 'Save a new version of a template, after a dry run of it',
    sfn: [],
  },
  {
    id: 'DeleteTemplate',
    method: 'DELETE',
    path: '/templates/{templateId}',
    entry: 'functions/api/delete-template.ts',
    summary: 'Delete a template; refused while tenants use it, unless it is archived',
    sfn: [],
  },
  {
    id: 'ArchiveTemplate',
    method: 'POST',
    path: '/templates/{templateId}/archive',
    entry: 'functions/api/archive-template.ts',
    summary: 'Archive a template: no new tenants from it',
    sfn: [],
  },
  {
    id: 'ListTemplateVersions',
    method: 'GET',
    path: '/templates/{templateId}/versions',
    entry: 'functions/api/list-template-versions.ts',
    summary: "A template's versions, oldest first",
    sfn: [],
  },
  {
    id: 'ProvisionFromTemplate',
    method: 'POST',
    path: '/templates/{templateId}/provision',
    entry: 'functions/api/provision-from-template.ts',
    summary: 'Provision a tenant from a template (idempotent, as POST /tenants)',
    sfn: ['start', 'describe'],
  },
  {
    id: 'GetStats',
    method: 'GET',
    path: '/stats',
    entry: 'functions/api/get-stats.ts',
    summary: 'Tenant and execution statistics',
    sfn: [],
  },
  {
    id: 'GetOpenApi',
    method: 'GET',
    path: '/openapi.json',
    entry: 'functions/api/get-openapi.ts',
    summary: 'This API as an OpenAPI 3.1 document',
    sfn: [],
    database: false,
  },
] as const satisfies readonly ApiRoute[];
