import { parseArgs } from 'node:util';
import type { SignatureV4 } from '@smithy/signature-v4';
import { type RouteId, routeById, routePath } from '../shared/api/route-table';
import type { StepProgress } from '../shared/progress';
import type { Reconciliation } from '../shared/reconcile/records';
import type { AuditEntry } from '../shared/registry/tenants';
import { AUDIT_OPTIONS, auditQuery, printAudit, printReconciliation } from './audit-cli';
import { LABELS_OPTIONS, labelsArgs, printLabels } from './labels-cli';
import { remoteRollout } from './rollout-cli';
import { labelsFlag } from './usage';

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
      parsed = raw ? JSON.parse(raw) : null;
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

/** The step model the API returns (see shared/api/schemas.ts `StepSchema`). */
export type ApiStep = StepProgress;

interface RemoteExecution {
  readonly executionId: string;
  readonly name: string;
  readonly status: string;
  readonly steps: ApiStep[];
  readonly error?: { error: string; cause: string };
}

interface AuditPage {
  readonly items: AuditEntry[];
  readonly nextToken?: string;
}

interface TenantLabels {
  readonly tenantId: string;
  readonly labels: Record<string, string>;
}

interface RemoteOptions {
  /** Renders one step line, as the in-process CLI does. */
  readonly describeStep: (step: ApiStep) => string;
  /** How often `--watch` polls. @default 500 ms */
  readonly pollMs?: number;
}

/** A problem document's one-line summary, with its field errors. */
function problemLine(body: unknown, status: number): string {
  const p = body as { detail?: string; errors?: { field: string; reason: string }[] } | null;
  const fields = p?.errors?.map((e) => `\n  ${e.field}: ${e.reason}`).join('') ?? '';
  return `${status} ${p?.detail ?? JSON.stringify(body)}${fields}`;
}

/** The deprovision flags of the CLI, in process and with --api. */
export const DEPROVISION_OPTIONS = {
  'grace-hours': { type: 'string' },
  'preserve-audit-logs': { type: 'boolean' },
  'no-preserve-audit-logs': { type: 'boolean' },
  'preserve-backups': { type: 'boolean' },
  'notify-users': { type: 'boolean' },
  reason: { type: 'string' },
  'requested-by': { type: 'string' },
  watch: { type: 'boolean', default: false },
} as const;

/** The body of `POST /tenants/{id}/deprovision` from the CLI's flags; a message for a bad one. */
export function deprovisionBody(values: {
  'grace-hours'?: string;
  'preserve-audit-logs'?: boolean;
  'no-preserve-audit-logs'?: boolean;
  'preserve-backups'?: boolean;
  'notify-users'?: boolean;
  reason?: string;
  'requested-by'?: string;
}): Record<string, unknown> | string {
  if (values['preserve-audit-logs'] && values['no-preserve-audit-logs'])
    return '--preserve-audit-logs and --no-preserve-audit-logs contradict each other';
  const hours = values['grace-hours'] === undefined ? undefined : Number(values['grace-hours']);
  if (hours !== undefined && (!Number.isFinite(hours) || hours < 0))
    return '--grace-hours takes a number of hours (0 or more)';
  return {
    ...(hours ? { gracePeriodHours: hours } : {}),
    ...(values['no-preserve-audit-logs'] ? { preserveAuditLogs: false } : {}),
    ...(values['preserve-audit-logs'] ? { preserveAuditLogs: true } : {}),
    ...(values['preserve-backups'] ? { preserveBackups: true } : {}),
    ...(values['notify-users'] ? { notifyUsers: true } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
    requestedBy: values['requested-by'] ?? process.env.USER ?? 'cli',
  };
}

/**
 * The CLI's commands against a deployed or local HTTP API (`tenantry --api <url> ...`): provision
 * [--watch], status, list, deprovision [--watch], migrate [--to N] [--watch], rollout (rollout-cli.ts),
 * cancel-deprovision, cancel, redrive and stats. Exit codes as in process: 0 done, 1 the run
 * failed or the API refused, 2 bad usage (the caller handles parsing errors).
 */
export async function runRemote(
  client: ApiClient,
  command: string,
  args: string[],
  options: RemoteOptions,
): Promise<number> {
  const fail = (res: ApiResponse) => {
    console.error(`tenantry: ${problemLine(res.body, res.status)}`);
    return 1;
  };
  if (command === 'rollout') return remoteRollout(client, args, { fail, pollMs: options.pollMs });
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...DEPROVISION_OPTIONS,
      blueprint: { type: 'string' },
      template: { type: 'string' },
      name: { type: 'string' },
      status: { type: 'string' },
      to: { type: 'string' },
      label: { type: 'string' },
      ...LABELS_OPTIONS,
      ...AUDIT_OPTIONS,
    },
  });
  const printSteps = (e: RemoteExecution) => {
    for (const step of e.steps)
      if (step.status !== 'skipped' || step.name !== 'Cleanup') console.log(options.describeStep(step));
  };
  /** Polls an execution, printing each step as it changes, until it ends. */
  const watch = async (name: string, what: string, succeeded: () => unknown): Promise<number> => {
    const shown = new Map<string, string>();
    for (;;) {
      const res = await client.call<RemoteExecution>('GetExecution', { params: { executionId: name } });
      if (res.status !== 200) return fail(res);
      for (const step of res.body.steps) {
        if (step.status === 'pending' || step.status === 'skipped') continue;
        const key = `${step.status}:${Math.max(step.attempts, 1)}`;
        if (shown.get(step.name) === key) continue;
        shown.set(step.name, key);
        console.log(options.describeStep(step));
      }
      if (res.body.status !== 'RUNNING') {
        if (res.body.status === 'SUCCEEDED') {
          await succeeded();
          return 0;
        }
        const e = res.body.error;
        console.error(`${what} ${res.body.status.toLowerCase()}: ${e?.error ?? ''}: ${e?.cause ?? ''}`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
  };
  const [id] = positionals;
  switch (command) {
    case 'provision': {
      if (!id || positionals.length > 1) return usage('provision takes exactly one tenant id');
      const started = await client.call<{ executionName: string; started: boolean }>('StartTenant', {
        body: {
          tenantId: id,
          displayName: values.name ?? id,
          ...(values.template
            ? { template: values.template }
            : { blueprint: values.blueprint ?? 'school-erp' }),
          ...(values.template && values.blueprint ? { blueprint: values.blueprint } : {}),
          ...(values.label ? { labels: labelsFlag(values.label) } : {}),
          requestedBy: values['requested-by'] ?? process.env.USER ?? 'cli',
        },
      });
      if (started.status !== 202) return fail(started);
      const name = started.body.executionName;
      console.log(
        `  execution ${name}${started.body.started ? '' : ' (already started: not starting another)'}`,
      );
      if (!values.watch) return 0;
      return watch(name, `Provisioning ${id}`, () => console.log(`Tenant ${id} is active`));
    }
    case 'deprovision': {
      if (!id || positionals.length > 1) return usage('deprovision takes exactly one tenant id');
      const body = deprovisionBody(values);
      if (typeof body === 'string') return usage(body);
      const res = await client.call<{
        scheduled: boolean;
        executionName?: string;
        started?: boolean;
        dueAt?: string;
        scheduleName?: string;
      }>('DeprovisionTenant', { params: { tenantId: id }, body });
      if (res.status !== 202) return fail(res);
      if (res.body.scheduled) {
        console.log(`Tenant ${id} is scheduled for deletion at ${res.body.dueAt} (${res.body.scheduleName})`);
        return 0;
      }
      const name = res.body.executionName ?? '';
      console.log(`  execution ${name}${res.body.started ? '' : ' (already started: not starting another)'}`);
      if (!values.watch) return 0;
      return watch(name, `Deprovisioning ${id}`, async () => {
        const tenant = await client.call<{ status: string; backupLocation: string | null }>('GetTenant', {
          params: { tenantId: id },
        });
        console.log(
          `Tenant ${id} is ${tenant.body.status}; backup at ${tenant.body.backupLocation ?? 'none'}`,
        );
      });
    }
    case 'migrate': {
      if (!id || positionals.length > 1) return usage('migrate takes exactly one tenant id');
      const to = values.to === undefined ? undefined : Number(values.to);
      if (to !== undefined && !(Number.isSafeInteger(to) && to > 0 && /^\d+$/.test(values.to ?? '')))
        return usage(`--to takes a positive whole number, not '${values.to}'`);
      const res = await client.call<{ executionName: string; started: boolean }>('MigrateTenant', {
        params: { tenantId: id },
        body: to === undefined ? {} : { targetVersion: to },
      });
      if (res.status !== 202) return fail(res);
      const name = res.body.executionName;
      console.log(`  execution ${name}${res.body.started ? '' : ' (already started: not starting another)'}`);
      if (!values.watch) return 0;
      return watch(name, `Migrating ${id}`, async () => {
        const tenant = await client.call<{ status: string; blueprint: string; blueprintVersion: number }>(
          'GetTenant',
          { params: { tenantId: id } },
        );
        console.log(
          `Tenant ${id} is ${tenant.body.status} at ${tenant.body.blueprint} v${tenant.body.blueprintVersion}`,
        );
      });
    }
    case 'labels': {
      if (!id) return usage('labels takes a tenant id, then key=value pairs or --clear');
      const next = labelsArgs(positionals.slice(1), values.clear === true);
      const res = next
        ? await client.call<TenantLabels>('SetTenantLabels', {
            params: { tenantId: id },
            body: { labels: next },
          })
        : await client.call<TenantLabels>('GetTenant', { params: { tenantId: id } });
      if (res.status !== 200) return fail(res);
      printLabels(res.body.tenantId, res.body.labels);
      return 0;
    }
    case 'audit': {
      if (positionals.length > 1) return usage('audit takes at most one tenant id');
      const query = auditQuery(values);
      const res = id
        ? await client.call<AuditPage>('ListTenantAudit', { params: { tenantId: id }, query })
        : await client.call<AuditPage>('ListAudit', { query });
      if (res.status !== 200) return fail(res);
      printAudit(res.body.items);
      if (res.body.nextToken) console.log(`(more: --next ${res.body.nextToken})`);
      return 0;
    }
    case 'reconciliation': {
      const res = await client.call<Reconciliation>('GetReconciliation');
      if (res.status !== 200) return fail(res);
      return printReconciliation(res.body);
    }
    case 'cancel-deprovision': {
      if (!id || positionals.length > 1) return usage('cancel-deprovision takes exactly one tenant id');
      const res = await client.call<{ status: string; scheduleName: string }>('CancelDeprovision', {
        params: { tenantId: id },
      });
      if (res.status !== 200) return fail(res);
      console.log(`Cancelled ${res.body.scheduleName}: tenant ${id} is ${res.body.status} again`);
      return 0;
    }
    case 'restore': {
      if (!id || positionals.length > 1) return usage('restore takes exactly one tenant id');
      const res = await client.call<{ executionId: string; statusUrl: string }>('RestoreTenant', {
        params: { tenantId: id },
      });
      if (res.status !== 202) return fail(res);
      console.log(`Restoring ${id}: execution ${res.body.executionId} (${res.body.statusUrl})`);
      return 0;
    }
    case 'status': {
      if (!id) return usage('status takes a tenant id');
      const tenant = await client.call<{ status: string; executionId: string; schemaName: string }>(
        'GetTenant',
        { params: { tenantId: id } },
      );
      if (tenant.status !== 200) return fail(tenant);
      console.log(`${id}: ${tenant.body.status}, schema ${tenant.body.schemaName}`);
      const execution = await client.call<RemoteExecution>('GetExecution', {
        params: { executionId: tenant.body.executionId },
      });
      if (execution.status !== 200) return fail(execution);
      console.log(`  last execution ${execution.body.name}: ${execution.body.status}`);
      printSteps(execution.body);
      return 0;
    }
    case 'list': {
      const res = await client.call<{ items: { tenantId: string; status: string; blueprint: string }[] }>(
        'ListTenants',
        { query: { limit: 500, status: values.status } },
      );
      if (res.status !== 200) return fail(res);
      if (res.body.items.length === 0) console.log('no tenants');
      for (const t of res.body.items)
        console.log(`${t.tenantId.padEnd(24)} ${t.status.padEnd(14)} ${t.blueprint}`);
      return 0;
    }
    case 'cancel':
    case 'redrive': {
      if (!id) return usage(`${command} takes an execution name or ARN`);
      const res = await client.call<Record<string, unknown>>(
        command === 'cancel' ? 'CancelExecution' : 'RedriveExecution',
        { params: { executionId: id } },
      );
      if (res.status !== 200 && res.status !== 202) return fail(res);
      console.log(JSON.stringify(res.body, null, 2));
      return 0;
    }
    case 'stats': {
      const res = await client.call('GetStats');
      if (res.status !== 200) return fail(res);
      console.log(JSON.stringify(res.body, null, 2));
      return 0;
    }
    default:
      return usage(
        `'${command}' is not available with --api (provision, status, list, deprovision, migrate, rollout, labels, audit, reconciliation, cancel-deprovision, cancel, redrive, stats)`,
      );
  }
}

function usage(message: string): number {
  console.error(`tenantry: ${message}`);
  return 2;
}
