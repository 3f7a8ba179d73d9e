import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { annotate, powertools } from '../observability/lambda';
import { withLogContext } from '../observability/logger';
import { openAtInit } from '../runtime';
import { buildNow } from '../validation';
import {
  type HttpEvent,
  type HttpResult,
  httpProblems,
  json,
  parseBody,
  parseInput,
  parseQuery,
  pathParam,
} from './http';
import { type RouteId, type RouteOf, routeById } from './route-table';

type Parsed<R, K extends string> = R extends { readonly [P in K]: infer S }
  ? S extends z.ZodType
    ? z.output<S>
    : undefined
  : undefined;

/** What a route's function gets: its path parameters, query and body, parsed by the route's schemas. */
export interface RouteInput<K extends RouteId> {
  readonly params: Parsed<RouteOf<K>, 'params'>;
  readonly query: Parsed<RouteOf<K>, 'query'>;
  readonly body: Parsed<RouteOf<K>, 'body'>;
  readonly event: HttpEvent;
}

/**
 * The Lambda handler of a route (shared/api/route-table.ts): problem responses for every error
 * (httpProblems), the input parsed by the route's schemas before `fn` sees it, and `fn`'s result
 * answered with the route's success status: 204 with no body, a 202 with a `statusUrl` also in
 * `Location`, anything else as JSON.
 */
export function apiRoute<K extends RouteId, T>(
  id: K,
  fn: (input: RouteInput<K>) => Promise<T>,
  options: {
    /** The `Location` of a created resource (a 202's `statusUrl` is its location already). */
    readonly location?: (result: T) => string | undefined;
  } = {},
) {
  const route = routeById(id) as RouteOf<K> & {
    readonly database?: boolean;
    readonly params?: z.ZodObject;
    readonly query?: z.ZodType;
    readonly body?: z.ZodType;
    readonly bodyOptional?: boolean;
    readonly ok: readonly [number, unknown];
  };
  // This route's schemas are built at init; the other routes' lazy ones never are in this bundle.
  for (const schema of [route.params, route.query, route.body]) buildNow(schema);
  // The registry, opened at init on Lambda for a route that reads or writes it.
  if (route.database !== false) openAtInit();
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const invoke = middy<HttpEvent, HttpResult>()
    .use(powertools())
    .use(httpProblems(id))
    .handler(async (event) => {
      annotate('route', id);
      const params = route.params
        ? parseInput(route.params, Object.fromEntries(names.map((n) => [n, pathParam(event, n)])))
        : undefined;
      const query = route.query ? parseQuery(event, route.query) : undefined;
      const body = route.body
        ? route.bodyOptional && !event.body
          ? parseInput(route.body, {})
          : parseBody(event, route.body)
        : undefined;
      const result = await fn({ params, query, body, event } as RouteInput<K>);
      const [status] = route.ok;
      if (status === 204) return { statusCode: 204 };
      const statusUrl = (result as { statusUrl?: unknown } | null)?.statusUrl;
      const location = options.location?.(result) ?? (typeof statusUrl === 'string' ? statusUrl : undefined);
      return json(status, result, location ? { location } : {});
    });
  return (event: HttpEvent, context = {} as Context): Promise<HttpResult> =>
    withLogContext({ route: id, requestId: event.requestContext?.requestId }, () => invoke(event, context));
}
