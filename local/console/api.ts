import type { z } from 'zod';
import type {
  CancelledSchema,
  ExecutionPageSchema,
  ExecutionResponse,
  HistoryPageSchema,
  Problem,
  RolloutActionSchema,
  RolloutPageSchema,
  RolloutSchema,
  StartedExecutionResponse,
  Stats,
  TemplateListSchema,
  TemplateSchema,
  TemplateVersionListSchema,
  TenantPageSchema,
  TenantSchema,
} from '../../shared/api/responses';
import type { API_ROUTES } from '../../shared/api/route-table';

/**
 * The routes the console calls, as the local server serves them: the same JSON API the CLI and the
 * deployed API Gateway answer (shared/api/route-table.ts). Only types come from there, so the page
 * carries no zod; each entry below is checked against the route table's method and path by the
 * type checker (local/console/tsconfig.json), so a route that moves breaks the build, not the page.
 */
type Route = (typeof API_ROUTES)[number];
type RouteOf<K extends Route['id']> = Extract<Route, { id: K }>;

const ROUTES = {
  ListTenants: ['GET', '/tenants'],
  StartTenant: ['POST', '/tenants'],
  GetTenant: ['GET', '/tenants/{tenantId}'],
  GetTenantDrift: ['GET', '/tenants/{tenantId}/drift'],
  ListTenantExecutions: ['GET', '/tenants/{tenantId}/executions'],
  GetExecution: ['GET', '/executions/{executionId}'],
  GetExecutionHistory: ['GET', '/executions/{executionId}/history'],
  CancelExecution: ['POST', '/executions/{executionId}/cancel'],
  RedriveExecution: ['POST', '/executions/{executionId}/redrive'],
  ListRollouts: ['GET', '/rollouts'],
  GetRollout: ['GET', '/rollouts/{rolloutId}'],
  PauseRollout: ['POST', '/rollouts/{rolloutId}/pause'],
  ResumeRollout: ['POST', '/rollouts/{rolloutId}/resume'],
  CancelRollout: ['POST', '/rollouts/{rolloutId}/cancel'],
  ListTemplates: ['GET', '/templates'],
  GetTemplate: ['GET', '/templates/{templateId}'],
  ListTemplateVersions: ['GET', '/templates/{templateId}/versions'],
  GetStats: ['GET', '/stats'],
} as const satisfies { readonly [K in Route['id']]?: readonly [RouteOf<K>['method'], RouteOf<K>['path']] };

export type ConsoleRoute = keyof typeof ROUTES;

export type Tenant = z.infer<typeof TenantSchema>;
export type TenantPage = z.infer<typeof TenantPageSchema>;
export type ExecutionPage = z.infer<typeof ExecutionPageSchema>;
export type Execution = ExecutionResponse;
export type Step = ExecutionResponse['steps'][number];
export type HistoryPage = z.infer<typeof HistoryPageSchema>;
export type Rollout = z.infer<typeof RolloutSchema>;
export type RolloutPage = z.infer<typeof RolloutPageSchema>;
export type RolloutAction = z.infer<typeof RolloutActionSchema>;
export type Template = z.infer<typeof TemplateSchema>;
export type TemplateList = z.infer<typeof TemplateListSchema>;
export type TemplateVersions = z.infer<typeof TemplateVersionListSchema>;
export type Cancelled = z.infer<typeof CancelledSchema>;
export type { Problem, StartedExecutionResponse as StartedExecution, Stats };

/** An answer that was not a 2xx: the API's problem details, or what stood in for them. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    const fields = (problem.errors ?? []).map((e) => `${e.field} ${e.reason}`).join('; ');
    super(
      `${problem.title ?? `HTTP ${status}`}: ${problem.detail ?? 'no detail'}${fields ? ` (${fields})` : ''}`,
    );
  }
}

export interface CallInput {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
}

/** The URL of a route with its path parameters filled in (URL-encoded) and its query. */
export function routeUrl(id: ConsoleRoute, input: CallInput = {}): string {
  const [, template] = ROUTES[id];
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = input.params?.[name];
    if (value === undefined) throw new Error(`${id} needs the path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(input.query ?? {})) if (v !== undefined) query.set(k, String(v));
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}

/** Calls one route on the server that served this page; throws ApiError for anything but a 2xx. */
export async function call<T>(id: ConsoleRoute, input: CallInput = {}): Promise<T> {
  const [method] = ROUTES[id];
  const res = await fetch(routeUrl(id, input), {
    method,
    headers: {
      accept: 'application/json',
      ...(input.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(input.body === undefined ? {} : { body: JSON.stringify(input.body) }),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { detail: text };
  }
  if (!res.ok) throw new ApiError(res.status, (body ?? {}) as Partial<Problem>);
  return body as T;
}
