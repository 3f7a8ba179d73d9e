import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from '../shared/api/http';
import { type ApiRoute, routeEntry } from '../shared/api/route-table';
import { logger } from '../shared/observability/logger';
import { ensureLocalStore } from '../shared/registry/control';
import { type Runtime, withRuntime } from '../shared/runtime';
import type { SqlClient } from '../shared/sql/port';
import type { PostgresClient } from '../shared/sql/postgres';
import { LocalEngine, type LocalEngineOptions } from './engine';
import { handlerModuleUrl } from './handler-modules';
import { LocalDeletionScheduler } from './scheduler';
import { LocalWorkflowEngine } from './workflow-engine';

/**
 * A route of the HTTP API run in this process, as API Gateway and Lambda would run it: the event
 * its Lambda would get, its handler module (functions/api/<route>.ts), and the local engine scoped
 * in. The local server (local/server.ts) does this for each request; the CLI (local/transport.ts)
 * for each call, without HTTP.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

type RouteHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

const handlers = new Map<string, Promise<RouteHandler>>();

/** A route's handler, imported once: the source under tsx, the built module in the prebuilt CLI. */
export function handlerFor(route: ApiRoute): Promise<RouteHandler> {
  const entry = routeEntry(route);
  let handler = handlers.get(entry);
  if (!handler) {
    handler = import(handlerModuleUrl(ROOT, entry)).then((mod: { handler?: RouteHandler }) => {
      if (typeof mod.handler !== 'function') throw new Error(`${entry} does not export a handler`);
      return mod.handler;
    });
    handlers.set(entry, handler);
  }
  return handler;
}

export function lambdaContext(route: ApiRoute, requestId: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `tenantry-api-${route.id}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:tenantry-api-${route.id}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/tenantry-api-${route.id}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** A request to a route, as the local server reads it off the wire or the CLI makes it. */
export interface RouteRequest {
  readonly route: ApiRoute;
  /** The path parameters as they appear in the path (URL-encoded). */
  readonly params: Readonly<Record<string, string>>;
  readonly method: string;
  /** The path, URL-encoded. */
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
  /** Who calls, where API Gateway puts the IAM caller (the actor in the audit trail). */
  readonly caller: string;
  readonly sourceIp: string;
  readonly protocol: string;
}

/** The API Gateway HTTP API (payload format 2.0) event for a request, as Lambda would receive it. */
export function routeEvent(req: RouteRequest): HttpEvent {
  const now = Date.now();
  const requestId = randomUUID();
  const routeKey = `${req.route.method} ${req.route.path}`;
  // No IAM here: the caller is put in the place API Gateway puts the IAM caller (not in
  // HttpEvent's type: hence a variable).
  const requestContext = {
    accountId: '000000000000',
    apiId: 'local',
    domainName: req.headers.host ?? 'localhost',
    domainPrefix: 'localhost',
    http: {
      method: req.method,
      path: req.rawPath,
      protocol: req.protocol,
      sourceIp: req.sourceIp,
      userAgent: req.headers['user-agent'] ?? '',
    },
    requestId,
    routeKey,
    stage: '$default',
    authorizer: { iam: { userArn: req.caller } },
    time: new Date(now).toISOString(),
    timeEpoch: now,
  };
  return {
    version: '2.0',
    routeKey,
    rawPath: req.rawPath,
    rawQueryString: req.rawQueryString,
    headers: { ...req.headers },
    ...(Object.keys(req.query).length > 0 ? { queryStringParameters: { ...req.query } } : {}),
    ...(req.route.path.includes('{') ? { pathParameters: { ...req.params } } : {}),
    ...(req.body ? { body: req.body, isBase64Encoded: req.isBase64Encoded } : { isBase64Encoded: false }),
    requestContext,
  };
}

/** The database role the read-only routes act as on a Postgres server (control migration 0017). */
export const READER_ROLE = 'tenantry_reader';

/** Whether the login role may take this role (it exists, and the login is a member of it). */
async function mayActAs(db: SqlClient, role: string): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                 THEN pg_has_role(current_user, $1, 'MEMBER') ELSE false END AS ok`,
    [role],
  );
  return rows[0]?.ok === true;
}

/** What the routes run against in this process: the local engine and scheduler, on one database. */
export interface RouteScopes {
  readonly local: LocalEngine;
  readonly engine: LocalWorkflowEngine;
  readonly scheduler: LocalDeletionScheduler;
  /** The runtime every route but the read-only ones is scoped with. */
  readonly scope: Runtime;
  /** The read-only routes' runtime: on a Postgres server, as the reader role. */
  readonly readScope: Runtime;
  /** Closes the reader role's connections, if any (not the database). */
  close(): Promise<void>;
}

/**
 * `db` as the server adapter, or undefined on any other backend. The adapter (and pg with it) is
 * loaded only for a client that says it is one: a CLI command on embedded PGlite never loads pg.
 */
async function postgresClientOf(db: SqlClient): Promise<PostgresClient | undefined> {
  if (db.backend !== 'postgres') return undefined;
  const { PostgresClient } = await import('../shared/sql/postgres');
  return db instanceof PostgresClient ? db : undefined;
}

export async function routeScopes(
  db: SqlClient,
  engineOptions: Omit<LocalEngineOptions, 'db'> = {},
): Promise<RouteScopes> {
  const local = new LocalEngine({ db, ...engineOptions });
  const engine = new LocalWorkflowEngine(local);
  const scheduler = new LocalDeletionScheduler(local);
  const scope = { ...local.runtime, engine, scheduler };
  await ensureLocalStore(db);
  // On a Postgres server the read-only routes get connections of their own that act as the reader
  // role: they can read the control schema and write nothing. PGlite has one user; the Data API
  // one secret (on AWS each route's function has its own grants).
  const server = await postgresClientOf(db);
  const reader = server && (await mayActAs(server, READER_ROLE)) ? server.asRole(READER_ROLE) : undefined;
  if (server && !reader)
    logger.warn(`no ${READER_ROLE} role this login may take: the read-only routes run as the login role`);
  return {
    local,
    engine,
    scheduler,
    scope,
    readScope: reader ? { ...scope, db: reader } : scope,
    close: async () => {
      await reader?.close();
    },
  };
}

/** Runs a route's handler on its event, scoped by whether the route only reads. */
export async function invokeRoute(
  scopes: RouteScopes,
  route: ApiRoute,
  event: HttpEvent,
): Promise<HttpResult> {
  const handler = await handlerFor(route);
  const context = lambdaContext(route, event.requestContext.requestId);
  return withRuntime(route.readOnly ? scopes.readScope : scopes.scope, () => handler(event, context));
}
