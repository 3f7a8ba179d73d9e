#!/usr/bin/env -S npx tsx
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from '../shared/api/http';
import { problemFor, problemResponse } from '../shared/api/http';
import { openApiDocument } from '../shared/api/openapi';
import { API_ROUTES, type ApiRoute, routeEntry } from '../shared/api/route-table';
import { databaseConfigFromEnv } from '../shared/config';
import { NotFoundError, PayloadTooLargeError } from '../shared/errors';
import { logger } from '../shared/observability/logger';
import { ensureLocalStore } from '../shared/registry/control';
import { withRuntime } from '../shared/runtime';
import { openDatabase } from '../shared/sql/connect';
import type { SqlClient } from '../shared/sql/port';
import { PostgresClient } from '../shared/sql/postgres';
import { LocalEngine, type LocalEngineOptions } from './engine';
import { handlerModuleUrl } from './handler-modules';
import { LeaseSweeper, type RecoveredRun, recoverExpiredRuns } from './recovery';
import { LocalDeletionScheduler } from './scheduler';
import { osUser } from './usage';
import { LocalWorkflowEngine } from './workflow-engine';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Who every caller of the local API is (it has no IAM): the OS user it runs as. */
const LOCAL_CALLER = `local:${osUser()}`;

type RouteHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

interface CompiledRoute {
  readonly route: ApiRoute;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

function compile(route: ApiRoute): CompiledRoute {
  const params: string[] = [];
  const source = route.path.replace(/[.]/g, '\\.').replace(/\{(\w+)\}/g, (_, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), params };
}

const ROUTES = API_ROUTES.map(compile);
const handlers = new Map<string, Promise<RouteHandler>>();

function handlerFor(route: ApiRoute): Promise<RouteHandler> {
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

/**
 * The largest request API Gateway HTTP APIs take (10 MB): over it, they answer 413 without calling
 * the Lambda, and so does this server. Each handler then holds bodies to MAX_BODY_BYTES (1 MiB).
 */
export const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request body, as API Gateway passes it on: text, or base64 when the bytes are not UTF-8
 * text. Over `limit` bytes, the rest is read and dropped (so the client gets its answer) and the
 * body is refused with PayloadTooLargeError.
 */
function readBody(
  req: IncomingMessage,
  limit = GATEWAY_MAX_BODY_BYTES,
): Promise<{ body: string; isBase64Encoded: boolean }> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else chunks.length = 0;
    });
    req.on('end', () => {
      if (size > limit) {
        reject(
          new PayloadTooLargeError([
            { field: '(body)', reason: `is ${size} bytes; at most ${limit} bytes are accepted` },
          ]),
        );
        return;
      }
      const bytes = Buffer.concat(chunks);
      try {
        resolveBody({ body: utf8.decode(bytes), isBase64Encoded: false });
      } catch {
        resolveBody({ body: bytes.toString('base64'), isBase64Encoded: true });
      }
    });
    req.on('error', reject);
  });
}

/** The API Gateway HTTP API (payload format 2.0) event for a request, as Lambda would receive it. */
export function toHttpEvent(
  req: IncomingMessage,
  url: URL,
  body: string,
  match: { route: ApiRoute; params: Record<string, string> },
  isBase64Encoded = false,
): HttpEvent {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = [v].flat().join(',');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const now = Date.now();
  const requestId = randomUUID();
  const routeKey = `${match.route.method} ${match.route.path}`;
  // No IAM here: every caller acts as the OS user the server runs as (the actor in the audit
  // trail), in the place API Gateway puts the IAM caller (not in HttpEvent's type: hence a variable).
  const requestContext = {
    accountId: '000000000000',
    apiId: 'local',
    domainName: headers.host ?? 'localhost',
    domainPrefix: 'localhost',
    http: {
      method: req.method ?? 'GET',
      path: url.pathname,
      protocol: `HTTP/${req.httpVersion}`,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: headers['user-agent'] ?? '',
    },
    requestId,
    routeKey,
    stage: '$default',
    authorizer: { iam: { userArn: LOCAL_CALLER } },
    time: new Date(now).toISOString(),
    timeEpoch: now,
  };
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(match.route.path.includes('{') ? { pathParameters: match.params } : {}),
    ...(body ? { body, isBase64Encoded } : { isBase64Encoded: false }),
    requestContext,
  };
}

function lambdaContext(route: ApiRoute, requestId: string): Context {
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

function send(res: ServerResponse, result: HttpResult): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.body ?? '');
}

export interface ApiServerOptions {
  /** The database: executions, their history and the registry live there. */
  readonly db: SqlClient;
  /** Options for the local engine (tests inject faults and set retry delays here). @default {} */
  readonly engine?: Omit<LocalEngineOptions, 'db'>;
  /**
   * How often the deletion scheduler looks for due schedules; 0 leaves the poller off (tests call
   * `scheduler.fireDue(now)` with a clock of their own). @default 5000
   */
  readonly schedulerIntervalMs?: number;
  /**
   * How often the lease sweep looks for runs whose process died (their lease expired) and
   * finishes them; 0 leaves it off. @default a third of the lease timeout
   */
  readonly sweepIntervalMs?: number;
  /** Told of each run the sweep recovered. @default logs it */
  readonly onRecovered?: (run: RecoveredRun) => void;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
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

export interface ApiServer {
  readonly url: string;
  readonly server: Server;
  readonly engine: LocalWorkflowEngine;
  /** Fires scheduled deprovisionings: polled while the server runs, so a restart picks up what is due. */
  readonly scheduler: LocalDeletionScheduler;
  /** Finishes runs of dead processes: once at start, then on a timer. */
  readonly sweeper: LeaseSweeper;
  close(): Promise<void>;
}

/**
 * Serves the HTTP API on localhost: each request becomes the API Gateway v2 event its route's
 * Lambda would get, and goes to that same handler module, with the local engine scoped in.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const local = new LocalEngine({ db: options.db, ...options.engine });
  const engine = new LocalWorkflowEngine(local);
  const scheduler = new LocalDeletionScheduler(local);
  const scope = { ...local.runtime, engine, scheduler };
  await ensureLocalStore(options.db);
  // On a Postgres server the read-only routes get connections of their own that act as the reader
  // role: they can read the control schema and write nothing. PGlite has one user; the Data API
  // one secret (on AWS each route's function has its own grants).
  const reader =
    options.db instanceof PostgresClient && (await mayActAs(options.db, READER_ROLE))
      ? options.db.asRole(READER_ROLE)
      : undefined;
  if (options.db instanceof PostgresClient && !reader)
    logger.warn(`no ${READER_ROLE} role this login may take: the read-only routes run as the login role`);
  const readScope = reader ? { ...scope, db: reader } : scope;
  const interval = options.schedulerIntervalMs ?? 5_000;
  if (interval > 0) scheduler.start(interval);
  const sweeper = new LeaseSweeper(
    local,
    options.onRecovered ??
      ((r) => logger.warn('recovered an interrupted run', { executionId: r.executionId, step: r.step })),
  );
  const sweepEvery = options.sweepIntervalMs ?? local.leaseSettings.renewEveryMs;
  if (sweepEvery > 0) {
    void sweeper.sweep();
    sweeper.start(sweepEvery);
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let found: { route: ApiRoute; params: Record<string, string> } | undefined;
      for (const c of ROUTES) {
        if (c.route.method !== req.method) continue;
        const m = c.pattern.exec(url.pathname);
        if (!m) continue;
        found = { route: c.route, params: Object.fromEntries(c.params.map((p, i) => [p, m[i + 1] ?? ''])) };
        break;
      }
      if (!found) {
        const error = new NotFoundError(`no route ${req.method} ${url.pathname}`, { field: '(path)' });
        send(res, problemResponse(problemFor(error)));
        return;
      }
      const body = await readBody(req).catch((error: unknown) => {
        if (error instanceof PayloadTooLargeError) send(res, problemResponse(problemFor(error)));
        else throw error;
      });
      if (!body) return;
      const event = toHttpEvent(req, url, body.body, found, body.isBase64Encoded);
      const handler = await handlerFor(found.route);
      const context = lambdaContext(found.route, event.requestContext.requestId);
      const routeScope = found.route.readOnly ? readScope : scope;
      send(res, await withRuntime(routeScope, () => handler(event, context)));
    })().catch((error: unknown) => {
      logger.error('local server error', { error: String(error) });
      if (!res.headersSent) send(res, problemResponse(problemFor(error)));
      else res.end();
    });
  });
  await new Promise<void>((ready) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    server,
    engine,
    scheduler,
    sweeper,
    close: async () => {
      scheduler.stop();
      await sweeper.stop();
      await new Promise<void>((done, fail) => {
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      });
      await reader?.close();
    },
  };
}

/** Where `npm start` writes the OpenAPI document with `--write-openapi`. */
export const OPENAPI_FILE = resolve(ROOT, 'openapi.json');

export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--write-openapi')) {
    writeFileSync(OPENAPI_FILE, openApiText());
    // In the layout the linter wants; the drift test compares the JSON, not the text.
    spawnSync(resolve(ROOT, 'node_modules/.bin/biome'), ['format', '--write', OPENAPI_FILE], {
      stdio: 'ignore',
    });
    console.log(`wrote ${OPENAPI_FILE}`);
    return;
  }
  const config = databaseConfigFromEnv();
  const db = await openDatabase(config);
  const report = (r: RecoveredRun) =>
    console.error(`recovered interrupted run ${r.executionId} of ${r.tenantId} (stopped in ${r.step})`);
  if (config.kind === 'pglite') {
    // The embedded database belongs to this process alone: a run still RUNNING was cut off.
    for (const r of await recoverExpiredRuns(new LocalEngine({ db }), { everyRun: true })) report(r);
  }
  // On a server other processes may be running executions: the sweep only takes runs whose lease
  // expired, at start and then every third of the lease timeout (TENANTRY_LEASE_SECONDS).
  const api = await startApiServer({
    db,
    onRecovered: report,
    port: Number(process.env.PORT ?? 3000),
    host: process.env.HOST ?? '127.0.0.1',
  });
  console.log(`Tenantry API on ${api.url} (${config.kind}); try: curl ${api.url}/stats`);
  const shutdown = () => {
    void api
      .close()
      .then(() => db.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`tenantry api: ${(error as Error).message}`);
    process.exitCode = 1;
  });
}
