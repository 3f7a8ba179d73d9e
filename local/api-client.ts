import type { SignatureV4 } from '@smithy/signature-v4';
import { type RouteId, routeById, routePath } from '../shared/api/route-table';
import { parseJsonExact } from '../shared/json';

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export interface ApiClientOptions {
  /**
   * Sign requests with SigV4 for API Gateway's IAM authorization, with the default credential chain.
   * @default true for an `*.amazonaws.com` host, false otherwise (the local server)
   */
  readonly sign?: boolean;
  /** @default the region in an `execute-api` host name, else AWS_REGION, else us-east-1 */
  readonly region?: string;
}

/** The region of an API Gateway endpoint (`<id>.execute-api.<region>.amazonaws.com`). */
export function regionOf(host: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1];
}

async function newSigner(region: string): Promise<SignatureV4> {
  const [{ Sha256 }, { fromNodeProviderChain }, { SignatureV4 }] = await Promise.all([
    import('@aws-crypto/sha256-js'),
    import('@aws-sdk/credential-providers'),
    import('@smithy/signature-v4'),
  ]);
  return new SignatureV4({
    service: 'execute-api',
    region,
    credentials: fromNodeProviderChain(),
    sha256: Sha256,
  });
}

/** A small client for the Tenantry HTTP API, deployed (SigV4-signed) or local. */
export class ApiClient {
  private readonly base: URL;
  /** Loaded on first use: the SDK's signer and credential chain cost ~100 ms to import. */
  private readonly signer: Promise<SignatureV4> | undefined;

  constructor(baseUrl: string, options: ApiClientOptions = {}) {
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    const sign = options.sign ?? this.base.hostname.endsWith('.amazonaws.com');
    const region = options.region ?? regionOf(this.base.hostname) ?? process.env.AWS_REGION ?? 'us-east-1';
    this.signer = sign ? newSigner(region) : undefined;
    this.signer?.catch(() => {}); // reported where it is awaited
  }

  async request<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<ApiResponse<T>> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    const text = body === undefined ? undefined : JSON.stringify(body);
    let headers: Record<string, string> = {
      host: url.host,
      accept: 'application/json',
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
    };
    if (this.signer) {
      const signed = await (await this.signer).sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        ...(text === undefined ? {} : { body: text }),
      });
      headers = signed.headers as Record<string, string>;
    }
    const { host: _host, ...sendHeaders } = headers;
    const res = await fetch(url, {
      method,
      headers: sendHeaders,
      ...(text === undefined ? {} : { body: text }),
    });
    const raw = await res.text();
    let parsed: unknown = raw;
    try {
      // Exactly: a number past 2^53 (a tenant's limits) stays as written, and prints back so.
      parsed = raw ? parseJsonExact(raw) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T };
  }

  /**
   * One route of the API by its id (shared/api/route-table.ts): the route's method, its path with
   * the parameters filled in (URL-encoded), the query, and the body.
   */
  call<T = unknown>(
    id: RouteId,
    input: {
      readonly params?: Readonly<Record<string, string>>;
      readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
      readonly body?: unknown;
    } = {},
  ): Promise<ApiResponse<T>> {
    const route = routeById(id);
    const query = new URLSearchParams(
      Object.entries(input.query ?? {}).flatMap(([k, v]): [string, string][] =>
        v === undefined ? [] : [[k, String(v)]],
      ),
    ).toString();
    return this.request<T>(
      route.method,
      `${routePath(route, input.params)}${query ? `?${query}` : ''}`,
      input.body,
    );
  }

  get<T = unknown>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body);
  }

  put<T = unknown>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request<T>('PUT', path, body);
  }

  delete<T = unknown>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path);
  }
}
