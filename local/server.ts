#!/usr/bin/env -S npx tsx
import './bin/node-version.mjs';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { HttpEvent, HttpResult } from '../shared/api/http';
import { problemFor, problemResponse } from '../shared/api/http';
import { openApiDocument } from '../shared/api/openapi';
import { API_ROUTES, type ApiRoute } from '../shared/api/route-table';
import { databaseConfigFromEnv } from '../shared/config';
import { NotFoundError, PayloadTooLargeError } from '../shared/errors';
import { logger } from '../shared/observability/logger';
import { openDatabase } from '../shared/sql/connect';
import type { SqlClient } from '../shared/sql/port';
import { serveConsole } from './console-files';
import { LocalEngine, type LocalEngineOptions } from './engine';
import { LeaseSweeper, type RecoveredRun, recoverExpiredRuns } from './recovery';
import { invokeRoute, routeEvent, routeScopes } from './route-invoke';
import type { LocalDeletionScheduler } from './scheduler';
import { osUser } from './usage';
import type { LocalWorkflowEngine } from './workflow-engine';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The web console's built files (local/console/build.mjs), served at `GET /` beside the API. */
const CONSOLE_DIR = resolve(ROOT, 'dist', 'console');
/** Who every caller of the local API is (it has no IAM): the OS user it runs as. */
const LOCAL_CALLER = `local:${osUser()}`;

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
  // No IAM here: every caller acts as the OS user the server runs as (the actor in the audit trail).
  return routeEvent({
    route: match.route,
    params: match.params,
    method: req.method ?? 'GET',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    query,
    headers,
    body,
    isBase64Encoded,
    caller: LOCAL_CALLER,
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    protocol: `HTTP/${req.httpVersion}`,
  });
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
export { READER_ROLE } from './route-invoke';

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
  const scopes = await routeScopes(options.db, options.engine);
  const { local, engine, scheduler } = scopes;
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
        if (await serveConsole(CONSOLE_DIR, req, res, url.pathname)) return;
        const detail =
          url.pathname === '/'
            ? 'the web console is not built (node local/bin/build.mjs builds it)'
            : `no route ${req.method} ${url.pathname}`;
        const error = new NotFoundError(detail, { field: '(path)' });
        send(res, problemResponse(problemFor(error)));
        return;
      }
      const body = await readBody(req).catch((error: unknown) => {
        if (error instanceof PayloadTooLargeError) send(res, problemResponse(problemFor(error)));
        else throw error;
      });
      if (!body) return;
      const event = toHttpEvent(req, url, body.body, found, body.isBase64Encoded);
      send(res, await invokeRoute(scopes, found.route, event));
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
      await scopes.close();
    },
  };
}

/** Where `npm start` writes the OpenAPI document with `--write-openapi`. */
export const OPENAPI_FILE = resolve(ROOT, 'openapi.json');

export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

export interface LocalServeOptions {
  /** @default 3000 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

export interface LocalServe {
  readonly url: string;
  /** Resolves once SIGINT or SIGTERM has closed the server and the database. */
  readonly closed: Promise<void>;
}

/**
 * The local API and web console on the database the environment names (DATABASE_URL, else
 * embedded PGlite), until SIGINT or SIGTERM: `npm start` and `tenantry serve`.
 */
export async function serveLocal(options: LocalServeOptions = {}): Promise<LocalServe> {
  // The web console, built again when its sources are newer than the build (npm ci built it once).
  // The prebuilt CLI and the installed package carry it built, without the tools to build it.
  if (process.env.TENANTRY_PREBUILT !== 'dist') {
    const { ensureConsoleBuilt } = await import('./console/build.mjs');
    await ensureConsoleBuilt().catch((error: unknown) =>
      console.error(`tenantry api: the web console could not be built: ${(error as Error).message}`),
    );
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
    port: options.port ?? 3000,
    host: options.host ?? '127.0.0.1',
  });
  console.log(`Tenantry API on ${api.url} (${config.kind}); try: curl ${api.url}/stats`);
  console.log(`Web console on ${api.url}/`);
  const closed = new Promise<void>((done) => {
    const shutdown = () => {
      void api
        .close()
        .then(() => db.close())
        .finally(done);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  return { url: api.url, closed };
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
  const served = await serveLocal({
    port: Number(process.env.PORT ?? 3000),
    ...(process.env.HOST ? { host: process.env.HOST } : {}),
  });
  await served.closed;
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`tenantry api: ${(error as Error).message}`);
    process.exitCode = 1;
  });
}
