import type { EventEmitter } from 'node:events';
import { type ApiRoute, type RouteId, routeById, routePath } from '../shared/api/route-table';
import { parseJsonExact } from '../shared/json';
import type { SqlClient } from '../shared/sql/port';
import { ApiClient, type ApiClientOptions, type ApiResponse } from './api-client';
import type { LocalEngineOptions } from './engine';
import { invokeRoute, type RouteScopes, routeEvent, routeScopes } from './route-invoke';

/**
 * How the CLI reaches the HTTP API's routes: over HTTP (`--api <url>`, a deployed or a local API),
 * or in this process, where each call runs the route's own handler module with the local engine
 * scoped in, as the local server does per request. Every command is written once against this
 * interface, so the commands, their flags, output and exit codes are the same both ways.
 */

/** One call of a route: its path parameters (unencoded), query and JSON body. */
export interface RouteCall {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
}

export interface Transport {
  /** A route by its id (shared/api/route-table.ts): its status and its JSON body (null if none). */
  call<T = unknown>(id: RouteId, input?: RouteCall): Promise<ApiResponse<T>>;
  /** What the commands act on, for people: `embedded PGlite at ...`, `the API at ...`. */
  readonly where: string;
  /** How often a command following a run asks for its progress. */
  readonly pollMs: number;
  /**
   * Whether this process runs the execution (a name or an ARN): a run the local engine started
   * here ends with this process, so a command waits for it.
   */
  runsHere(execution: string): boolean;
  /**
   * A run this process runs: its history events as they are appended (`event`), before they are
   * stored, so a command following it sees every step start. Undefined for any other run.
   */
  liveEvents(execution: string): EventEmitter | undefined;
  /** Waits for the runs this process runs to end, then lets go of what the transport holds. */
  close(): Promise<void>;
}

function queryOf(input: RouteCall): Record<string, string> {
  return Object.fromEntries(
    Object.entries(input.query ?? {}).flatMap(([k, v]): [string, string][] =>
      v === undefined ? [] : [[k, String(v)]],
    ),
  );
}

/** The HTTP API at a URL (SigV4-signed for API Gateway; see ApiClient). */
export function httpTransport(url: string, options: ApiClientOptions & { pollMs?: number } = {}): Transport {
  const client = new ApiClient(url, options);
  return {
    call: <T>(id: RouteId, input: RouteCall = {}) => client.call<T>(id, { ...input, query: queryOf(input) }),
    where: `the API at ${url}`,
    pollMs: options.pollMs ?? 500,
    runsHere: () => false,
    liveEvents: () => undefined,
    close: async () => {},
  };
}

export interface InProcessOptions {
  /** What the commands act on, for people. */
  readonly where: string;
  /** Who calls, in the audit trail (where API Gateway puts the IAM caller). */
  readonly caller: string;
  /** @default 50 ms */
  readonly pollMs?: number;
  readonly engine?: Omit<LocalEngineOptions, 'db'>;
}

/** The routes' handler modules run in this process, on this database, with the local engine. */
export class InProcessTransport implements Transport {
  readonly where: string;
  readonly pollMs: number;

  private constructor(
    private readonly scopes: RouteScopes,
    private readonly options: InProcessOptions,
  ) {
    this.where = options.where;
    this.pollMs = options.pollMs ?? 50;
  }

  static async open(db: SqlClient, options: InProcessOptions): Promise<InProcessTransport> {
    return new InProcessTransport(await routeScopes(db, options.engine), options);
  }

  async call<T = unknown>(id: RouteId, input: RouteCall = {}): Promise<ApiResponse<T>> {
    const route = routeById(id) as ApiRoute;
    const query = queryOf(input);
    const body = input.body === undefined ? '' : JSON.stringify(input.body);
    const event = routeEvent({
      route,
      params: Object.fromEntries(
        Object.entries(input.params ?? {}).map(([k, v]) => [k, encodeURIComponent(v)]),
      ),
      method: route.method,
      rawPath: routePath(route, input.params),
      rawQueryString: new URLSearchParams(query).toString(),
      query,
      headers: {
        host: 'localhost',
        accept: 'application/json',
        'user-agent': 'tenantry-cli',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body,
      isBase64Encoded: false,
      caller: this.options.caller,
      sourceIp: '127.0.0.1',
      protocol: 'HTTP/1.1',
    });
    const result = await invokeRoute(this.scopes, route, event);
    const text = result.body ?? '';
    return { status: result.statusCode ?? 200, body: (text ? parseJsonExact(text) : null) as T };
  }

  runsHere(execution: string): boolean {
    return this.liveId(execution) !== undefined;
  }

  liveEvents(execution: string): EventEmitter | undefined {
    const id = this.liveId(execution);
    return id === undefined ? undefined : this.scopes.local.eventsOf(id);
  }

  private liveId(execution: string): string | undefined {
    return this.scopes.local
      .liveExecutionIds()
      .find((id) => id === execution || id.endsWith(`:${execution}`));
  }

  async close(): Promise<void> {
    while (this.scopes.local.liveExecutionIds().length > 0)
      await new Promise((r) => setTimeout(r, this.pollMs));
    // What the routes counted (GET /stats reads it back), stored before the database closes.
    await this.scopes.local.metrics.flush();
    await this.scopes.close();
  }
}
