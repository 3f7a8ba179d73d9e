import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { z } from 'zod';
import { TenantryError, ValidationError } from '../errors';
import { logger } from '../observability/logger';
import { textProblem } from '../validation';
import { assertTextParams, readJsonBody } from './input';
import type { Problem } from './responses';
import { API_ROUTES } from './route-table';

/** API Gateway HTTP API (payload format 2.0) events and results: what every route handler takes and gives. */
export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

const REASON: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** Parses with zod; a failure is one ValidationError naming every offending field and why. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(result.error.issues.flatMap((i) => fieldIssues(i, [])));
}

/** The fields a zod issue is about, each named by its full path. */
function fieldIssues(i: z.core.$ZodIssue, base: readonly PropertyKey[]): { field: string; reason: string }[] {
  const path = [...base, ...i.path];
  const at = path.map(String).join('.');
  // One entry per unknown field, named, rather than one for the object that holds them.
  if (i.code === 'unrecognized_keys')
    return i.keys.map((k) => ({ field: at ? `${at}.${k}` : k, reason: 'is not a known field' }));
  // A value that fits none of a union's shapes: what is wrong with the shape it comes closest to.
  if (i.code === 'invalid_union' && i.errors.length > 0) {
    const closest = [...i.errors].sort((a, b) => misfit(a) - misfit(b))[0] ?? [];
    if (closest.length > 0) return closest.flatMap((inner) => fieldIssues(inner, path));
  }
  return [{ field: at || '(body)', reason: i.message }];
}

/** How far a value is from a shape: its issues, a nested union counting as its closest shape. */
function misfit(issues: readonly z.core.$ZodIssue[]): number {
  return issues.reduce(
    (n, i) => n + (i.code === 'invalid_union' && i.errors.length > 0 ? Math.min(...i.errors.map(misfit)) : 1),
    0,
  );
}

/**
 * The JSON body, parsed and validated. A missing or malformed body is a 400 like any bad field; so
 * is a NUL or a lone surrogate in any string or key, or nesting deeper than MAX_JSON_DEPTH; a body
 * over MAX_BODY_BYTES is a 413 (see ./input.ts).
 */
export function parseBody<T>(event: HttpEvent, schema: z.ZodType<T>): T {
  const raw = readJsonBody(event.body, event.isBase64Encoded);
  if (raw === undefined)
    throw new ValidationError([{ field: '(body)', reason: 'is required (a JSON object)' }]);
  return parseInput(schema, raw);
}

/** The query string, validated (an absent one is an empty object); no NUL or lone surrogate in it. */
export function parseQuery<T>(event: HttpEvent, schema: z.ZodType<T>): T {
  const query = { ...(event.queryStringParameters ?? {}) };
  assertTextParams(query);
  return parseInput(schema, query);
}

/** A path parameter, URL-decoded (API Gateway may pass it encoded); no NUL or lone surrogate in it. */
export function pathParam(event: HttpEvent, name: string): string {
  const raw = event.pathParameters?.[name];
  if (!raw) throw new ValidationError([{ field: name, reason: 'is required in the path' }]);
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new ValidationError([{ field: name, reason: 'is not validly URL-encoded' }]);
  }
  const problem = textProblem(value);
  if (problem) throw new ValidationError([{ field: name, reason: problem }]);
  return value;
}

/** Who called: the IAM principal API Gateway authorized, or 'unknown' (local server). */
export function callerOf(event: HttpEvent): string {
  const iam = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam;
  return iam?.userArn ?? 'unknown';
}

/**
 * The problem document for an error: a TenantryError below 500 says what was wrong, with the
 * fields it is about (every field of a ValidationError; else the error's own field, or `field`,
 * the route's resource); anything else, including our own 5xx errors whose messages can carry SQL
 * or ARNs, is a bare 500 (or 503 for a transient fault) that leaks nothing.
 */
export function problemFor(error: unknown, requestId?: string, field = '(request)'): Problem {
  const base = requestId ? { requestId } : {};
  if (error instanceof TenantryError && error.status < 500) {
    return {
      type: 'about:blank',
      title: REASON[error.status] ?? error.name,
      status: error.status,
      detail: error.message,
      errors:
        error instanceof ValidationError
          ? [...error.fields]
          : [{ field: error.field ?? field, reason: error.message }],
      ...base,
    };
  }
  if (error instanceof TenantryError && error.retryable) {
    return {
      type: 'about:blank',
      title: REASON[503] ?? 'Service Unavailable',
      status: 503,
      detail: 'a transient fault; try again shortly',
      ...base,
    };
  }
  return {
    type: 'about:blank',
    title: REASON[500] ?? 'Internal Server Error',
    status: 500,
    detail: 'an unexpected error occurred',
    ...base,
  };
}

export function problemResponse(problem: Problem): HttpResult {
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify(problem),
  };
}

/**
 * The one error middleware of every API route: typed errors become their problem response,
 * anything unexpected is logged in full and answered with a 500 that says nothing more.
 */
export function httpProblems(route: string): middy.MiddlewareObj<HttpEvent, HttpResult> {
  const resource = resourceParam(route);
  return {
    onError: (request) => {
      const requestId = request.event.requestContext?.requestId;
      const problem = problemFor(request.error, requestId, resource);
      const error = request.error;
      const fields = {
        route,
        requestId,
        status: problem.status,
        error:
          error instanceof TenantryError ? error.toJSON() : { name: error?.name, message: error?.message },
      };
      if (problem.status >= 500) logger.error('request failed', { ...fields, stack: error?.stack });
      else logger.info('request refused', fields);
      return problemResponse(problem);
    },
  };
}

/** The path parameter naming the resource a route acts on (its last one), or '(request)' if none. */
function resourceParam(routeId: string): string {
  const path: string = API_ROUTES.find((r) => r.id === routeId)?.path ?? '';
  return [...path.matchAll(/\{(\w+)\}/g)].at(-1)?.[1] ?? '(request)';
}
