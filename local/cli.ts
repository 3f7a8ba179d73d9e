#!/usr/bin/env -S npx tsx
import type { EventEmitter } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { z } from 'zod';
import type {
  AuditPageSchema,
  CancelledSchema,
  DeprovisionCancelledSchema,
  DeprovisionScheduled,
  DeprovisionStarted,
  DriftReportResponseSchema,
  ExecutionResponse,
  Problem,
  RolloutActionSchema,
  RolloutPageSchema,
  RolloutSchema,
  RolloutStarted,
  StartedExecutionResponse,
  TemplateListSchema,
  TemplateSchema,
  TemplateVersionListSchema,
  TenantPageSchema,
  TenantSchema,
} from '../shared/api/responses';
import type { RouteId } from '../shared/api/route-table';
import { BlueprintCatalog } from '../shared/blueprint';
import { formatImportReport, importDump, writeImportedBlueprint } from '../shared/blueprint-import';
import { computeBlueprintLock, routineReportLines, writeBlueprintLock } from '../shared/blueprint-lock';
import { type DatabaseConfig, databaseConfigFromEnv } from '../shared/config';
import { DEFAULT_VERIFY_CONCURRENCY } from '../shared/drift/verify';
import { BlueprintError, TenantryError } from '../shared/errors';
import { parseJsonLossless } from '../shared/json';
import { type HistoryEvent, stepsFromHistory } from '../shared/progress';
import { reconcile } from '../shared/reconcile/reconcile';
import type { Reconciliation } from '../shared/reconcile/records';
import type { RolloutPlan } from '../shared/rollout/schemas';
import { withRuntime } from '../shared/runtime';
import { openDatabase } from '../shared/sql/connect';
import { PgliteClient } from '../shared/sql/pglite';
import type { SqlClient } from '../shared/sql/port';
import { generatePassword } from '../shared/templates/password';
import { auditQuery, printAudit, printReconciliation } from './audit-cli';
import { domainsArgs, printDomains, valueText } from './domains-cli';
import { LocalEngine } from './engine';
import { labelsArgs, printLabels } from './labels-cli';
import { recoverExpiredRuns } from './recovery';
import {
  describeStep,
  type FrameClock,
  LiveView,
  StepLines,
  shownSteps,
  stepsFrame,
  wavesFrame,
} from './render';
import {
  printPlan,
  printRollout,
  printRolloutAction,
  printRolloutStatus,
  rolloutExitCode,
  rolloutRequest,
  wavesLine,
} from './rollout-cli';
import { httpTransport, InProcessTransport, type RouteCall, type Transport } from './transport';
import { cliActor, labelsFlag, UsageError, wholeNumber } from './usage';
import { LocalWorkflowEngine } from './workflow-engine';

/**
 * The `tenantry` command line. Every command is written once, against the HTTP API's routes
 * (local/transport.ts): with `--api <url>` over HTTP, without it in this process, each route's own
 * handler run with the local engine on the local database. So the commands, flags, output and exit
 * codes are the same both ways; `--json` prints the route's response body as the API answers it.
 */

/** The exit codes, as README "CLI" documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, conflict: 4 } as const;

/** The exit code of an API refusal, by its HTTP status. */
export function exitCodeOf(status: number): number {
  if (status === 400 || status === 413) return EXIT.usage;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  return EXIT.failed;
}

/** A route answered with an error: its problem document. */
class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const detail = (body as Partial<Problem> | null)?.detail ?? JSON.stringify(body);
    super(status >= 500 ? `the API answered ${status}: ${detail}` : detail);
  }
}

type Tenant = z.infer<typeof TenantSchema>;
type Template = z.infer<typeof TemplateSchema>;
type Rollout = z.infer<typeof RolloutSchema>;
type RolloutTenant = Rollout['tenants'][number];
type DriftReport = z.infer<typeof DriftReportResponseSchema>;

export interface CliOptions {
  /** Redraw live views in place. @default stdout is a terminal (not TERM=dumb, not CI) */
  readonly tty?: boolean;
  /** How often a followed run is asked for its progress. @default 50 ms in process, 500 ms over HTTP */
  readonly pollMs?: number;
}

/** How a command prints. */
interface Output {
  readonly json: boolean;
}

/** What a command runs with: the transport to the routes, and how to print. */
interface Session extends Output {
  readonly t: Transport;
  readonly tty: boolean;
  /** In process only: the database itself, for what no route does (`reconcile`). */
  readonly db?: SqlClient;
}

const out = (line: string) => console.log(line);
const err = (line: string) => console.error(line);
const printJson = (value: unknown) => out(JSON.stringify(value, null, 2));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The body of a 2xx answer; any other is an ApiRefusal (its exit code follows its status). */
function ok<T>(res: { status: number; body: unknown }): T {
  if (res.status >= 200 && res.status < 300) return res.body as T;
  throw new ApiRefusal(res.status, res.body);
}

/** A gateway or transient fault (502, 503, 504) or no answer at all: a follower asks again. */
const TRANSIENT_STATUSES = new Set([502, 503, 504]);
/** How long a follower asks again through faults in a row before it gives up. */
const FOLLOW_PATIENCE_MS = 10 * 60_000;

/**
 * A call made while following a run: a transient fault (the database restarting under the local
 * engine, a gateway timeout) is asked again with a growing pause, as the run itself retries.
 */
async function callFollowing<T>(s: Session, id: RouteId, input: RouteCall): Promise<T> {
  const since = Date.now();
  for (let pause = s.t.pollMs; ; pause = Math.min(pause * 2, 5_000)) {
    let res: { status: number; body: unknown } | undefined;
    try {
      res = await s.t.call(id, input);
    } catch (error) {
      if (!(error instanceof TypeError) || Date.now() - since > FOLLOW_PATIENCE_MS) throw error;
    }
    if (res && (!TRANSIENT_STATUSES.has(res.status) || Date.now() - since > FOLLOW_PATIENCE_MS))
      return ok<T>(res);
    await sleep(pause);
  }
}

function describeBackend(config: DatabaseConfig, db: SqlClient): string {
  if (config.kind === 'pglite') return `embedded PGlite at ${config.dataDir}`;
  if (config.kind === 'postgres') return `Postgres at ${new URL(config.url).host}`;
  return `${db.backend}`;
}

/** Opens the session a command needs on first use, and closes it when the command is done. */
class Sessions {
  private current: Session | undefined;
  private db: SqlClient | undefined;
  code: number = EXIT.ok;

  constructor(private readonly options: CliOptions) {}

  async open(cmd: Command): Promise<Session> {
    if (this.current) return this.current;
    const g = cmd.optsWithGlobals<{ api?: string; json?: boolean }>();
    const tty =
      this.options.tty ??
      (process.stdout.isTTY === true && process.env.TERM !== 'dumb' && !process.env.CI && !g.json);
    const json = g.json === true;
    if (g.api) {
      const t = httpTransport(g.api, this.options.pollMs ? { pollMs: this.options.pollMs } : {});
      this.current = { t, json, tty };
      return this.current;
    }
    const config = databaseConfigFromEnv();
    const db = await openDatabase(config);
    this.db = db;
    // Runs whose process died are finished first (their lease expired). The embedded database
    // belongs to this process alone: there, every run still marked RUNNING was cut off.
    const recovered = await recoverExpiredRuns(new LocalEngine({ db }), {
      everyRun: config.kind === 'pglite',
    }).catch((error: unknown) => {
      err(`tenantry: could not look for interrupted runs: ${(error as Error).message}`);
      return [];
    });
    for (const r of recovered)
      err(`recovered interrupted run ${r.executionId} of ${r.tenantId} (stopped in ${r.step}; cleaned up)`);
    const t = await InProcessTransport.open(db, {
      where: describeBackend(config, db),
      caller: cliActor(),
      ...(this.options.pollMs ? { pollMs: this.options.pollMs } : {}),
    });
    this.current = { t, json, tty, db };
    return this.current;
  }

  /** Waits for the runs this process runs, then closes what was opened. */
  async close(): Promise<void> {
    try {
      await this.current?.t.close();
    } finally {
      await this.db?.close();
    }
  }
}

/** The command's action: its session opened, its exit code kept. */
function action<A extends unknown[]>(
  sessions: Sessions,
  fn: (s: Session, ...args: A) => Promise<number>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    const s = await sessions.open(cmd);
    sessions.code = await fn(s, ...(args.slice(0, -1) as A));
  };
}

/** A command on this checkout's files: no database opened, no API called. */
function filesAction<A extends unknown[]>(
  sessions: Sessions,
  fn: (o: Output, ...args: A) => Promise<number>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    sessions.code = await fn(
      { json: cmd.optsWithGlobals<{ json?: boolean }>().json === true },
      ...(args.slice(0, -1) as A),
    );
  };
}

/**
 * `--blueprints <dir>` (or TENANTRY_BLUEPRINTS): the folder every blueprint is read from, checked
 * before the command opens anything. With --api the server's blueprints are used instead.
 */
function useBlueprintsFolder(cmd: Command): void {
  const g = cmd.optsWithGlobals<{ api?: string; blueprints?: string }>();
  if (g.blueprints !== undefined) {
    if (g.api)
      throw new UsageError(
        '--blueprints names blueprints on this machine; with --api the server has its own',
      );
    process.env.TENANTRY_BLUEPRINTS = resolve(g.blueprints);
  }
  const dir = process.env.TENANTRY_BLUEPRINTS;
  if (dir !== undefined && !g.api && !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    const from = g.blueprints !== undefined ? '--blueprints' : 'TENANTRY_BLUEPRINTS';
    throw new UsageError(`${from}: ${dir} is not a folder`);
  }
}

/** `serve --port`: a TCP port, 0 for any free one (printed); 3000 when not given. */
function portNumber(text: string | undefined): number {
  if (text === undefined) return 3000;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65_535)
    throw new UsageError(`--port takes a port number from 0 (any free one) to 65535, not '${text}'`);
  return n;
}

/** A command that works on this checkout's files or database only, never through an API. */
function localOnly(cmd: Command, why: string): void {
  if (cmd.optsWithGlobals<{ api?: string }>().api) throw new UsageError(`${cmd.name()} ${why}`);
}

const startedNote = (started: boolean) => (started ? '' : ' (already started: not starting another)');

/** How a followed run is shown: a frame redrawn in place, lines as steps change, or nothing. */
function runView(s: Session, watch: boolean) {
  const live =
    watch && !s.json && s.tty
      ? new LiveView((t) => process.stdout.write(t), process.stdout.columns || 80)
      : undefined;
  const lines = watch && !s.json && !live ? new StepLines() : undefined;
  let tick = 0;
  const show = (run: Parameters<typeof stepsFrame>[0]) => {
    if (live) live.draw(stepsFrame(run, { now: Date.now(), tick: tick++ }));
    else for (const line of lines?.next(run.steps) ?? []) out(line);
  };
  return { live, lines, show };
}

/**
 * Follows a run until it ends: with `watch`, its steps as they go (a frame redrawn in place on a
 * terminal, else one line per change); without, quietly, then its steps once. --json shows nothing.
 * The model is GET /executions/{id}'s; a run this process runs is also followed event by event
 * (followPushed), so that no step's start is missed between two polls.
 */
async function followExecution(s: Session, execution: string, watch: boolean): Promise<ExecutionResponse> {
  const view = runView(s, watch);
  const events = watch && !s.json ? s.t.liveEvents(execution) : undefined;
  const pushed = events !== undefined && (await followPushed(s, execution, events, view));
  // A run of this process, waited for quietly: nothing is asked of the database until it ends,
  // so an outage the run outlasts (its steps retry) does not end the command.
  if (!watch) while (s.t.runsHere(execution)) await sleep(s.t.pollMs);
  for (;;) {
    const e = await callFollowing<ExecutionResponse>(s, 'GetExecution', {
      params: { executionId: execution },
    });
    // After the events, only the stored end: a stored history may lag behind what was shown.
    if (!pushed || e.status !== 'RUNNING') view.show(e);
    if (e.status !== 'RUNNING') {
      if (!watch && !s.json) for (const step of shownSteps(e.steps)) out(describeStep(step));
      return e;
    }
    await animate(s.t.pollMs, view.live ? () => view.show(e) : undefined);
  }
}

const RUN_ENDS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

/**
 * A run of this process, event by event: its history so far through GET /executions/{id}/history,
 * then each event the engine appends, folded by the same mapper the route uses (shared/progress.ts)
 * whenever the history is whole from its first event. Returns, once the run has ended and been
 * stored, whether anything was shown.
 */
async function followPushed(
  s: Session,
  execution: string,
  events: EventEmitter,
  view: ReturnType<typeof runView>,
): Promise<boolean> {
  const byId = new Map<number, HistoryEvent>();
  let ended = false;
  let wake = () => {};
  let names: string[] | undefined;
  let startedAt = '';
  let shown = 0;
  /** Shows the history whole so far: as lines, each event's step model in turn, so no start is skipped. */
  const show = () => {
    const history: HistoryEvent[] = [];
    for (let id = 1; byId.has(id); id++) history.push(byId.get(id) as HistoryEvent);
    if (!names || history.length === 0) return false;
    for (let n = view.lines ? shown + 1 : history.length; n <= history.length; n++) {
      const progress = stepsFromHistory(names, history.slice(0, n));
      view.show({ ...progress, startedAt, stoppedAt: null });
    }
    shown = Math.max(shown, history.length);
    return history.length === byId.size;
  };
  const onEvent = (event: HistoryEvent) => {
    byId.set(event.id, event);
    if (RUN_ENDS.has(event.type)) ended = true;
    show();
    wake();
  };
  events.on('event', onEvent);
  try {
    const first = await callFollowing<ExecutionResponse>(s, 'GetExecution', {
      params: { executionId: execution },
    });
    names = first.steps.map((step) => step.name);
    startedAt = first.startedAt;
    /** What was appended before this listener: stored in batches, so asked for until it joins up. */
    const stored = async () => {
      let nextToken: string | undefined;
      do {
        const page = await callFollowing<{ items: HistoryEvent[]; nextToken?: string }>(
          s,
          'GetExecutionHistory',
          { params: { executionId: execution }, query: { limit: 1000, nextToken } },
        );
        for (const event of page.items) if (!byId.has(event.id)) byId.set(event.id, event);
        nextToken = page.nextToken;
      } while (nextToken);
      return show();
    };
    let whole = false;
    while (!ended && s.t.runsHere(execution)) {
      if (!whole) whole = await stored();
      await Promise.race([sleep(whole ? 100 : s.t.pollMs), new Promise<void>((r) => (wake = r))]);
      if (view.live) show();
    }
    // Its end is stored (history and record) once the engine lets go of it.
    while (s.t.runsHere(execution)) await sleep(10);
    if (!whole) await stored();
  } finally {
    events.off('event', onEvent);
  }
  return byId.size > 0;
}

/** Waits `ms`; a live view's spinner turns meanwhile, every 100 ms. */
async function animate(ms: number, redraw: (() => void) | undefined): Promise<void> {
  const until = Date.now() + ms;
  while (redraw && until - Date.now() > 100) {
    await sleep(100);
    redraw();
  }
  await sleep(Math.max(0, until - Date.now()));
}

/**
 * After a command started a run: a run this process runs (in process) is waited for, quietly or
 * with --watch; one elsewhere is followed with --watch, or left to run (exit 0). When it ends,
 * `succeeded` prints what it did; a failed, timed-out or aborted run is exit 1.
 */
async function afterStart(
  s: Session,
  execution: string,
  options: { watch: boolean; started: boolean; what: string; succeeded: () => Promise<void> },
): Promise<number> {
  if (!options.watch && !s.t.runsHere(execution)) {
    if (!options.started) {
      // The same request ran before: its outcome, if it has one.
      const e = ok<ExecutionResponse>(await s.t.call('GetExecution', { params: { executionId: execution } }));
      if (e.status !== 'RUNNING') return finished(s, e, options);
    }
    if (!s.json) out(`  it runs on; follow it with: tenantry${apiFlag(s)} execution ${execution} --watch`);
    return EXIT.ok;
  }
  return finished(s, await followExecution(s, execution, options.watch), options);
}

async function finished(
  s: Session,
  e: ExecutionResponse,
  options: { what: string; succeeded: () => Promise<void> },
): Promise<number> {
  if (e.status === 'SUCCEEDED') {
    if (!s.json) await options.succeeded();
    return EXIT.ok;
  }
  err(`${options.what} ${e.status.toLowerCase()}: ${e.error?.error ?? e.status}: ${e.error?.cause ?? ''}`);
  return EXIT.failed;
}

const apiFlag = (s: Session) => (s.t.where.startsWith('the API at ') ? ` --api ${s.t.where.slice(11)}` : '');

async function getTenant(s: Session, tenantId: string): Promise<Tenant> {
  return ok<Tenant>(await s.t.call('GetTenant', { params: { tenantId } }));
}

// ---- tenants ---------------------------------------------------------------------------------

/** The blueprint when none is named: the only one in the blueprints folder, or the example school-erp. */
function defaultBlueprint(s: Session): string {
  // Through an API the server's blueprints count, and it is not asked: school-erp, as always.
  if (apiFlag(s)) return 'school-erp';
  const catalog = new BlueprintCatalog();
  const names = catalog.names();
  if (names.length === 1) return names[0] as string;
  if (names.includes('school-erp')) return 'school-erp';
  throw new UsageError(
    `name the blueprint with --blueprint: ${catalog.root} holds ${names.length === 0 ? 'none' : names.join(', ')}`,
  );
}

interface ProvisionFlags {
  blueprint?: string;
  template?: string;
  adminEmail?: string;
  adminName?: string;
  name?: string;
  requestedBy?: string;
  label?: string;
  domain?: string[];
  login?: boolean;
  watch?: boolean;
}

async function provision(s: Session, tenantId: string, o: ProvisionFlags): Promise<number> {
  if (o.adminName && !o.adminEmail) throw new UsageError('--admin-name goes with --admin-email');
  const labels = labelsFlag(o.label);
  // The admin's password is made here and shown once; the route hashes it before anything keeps it.
  const password = o.adminEmail ? generatePassword() : undefined;
  const blueprint = o.template ? o.blueprint : (o.blueprint ?? defaultBlueprint(s));
  const body = {
    tenantId,
    displayName: o.name ?? tenantId,
    ...(o.template ? { template: o.template } : {}),
    ...(blueprint ? { blueprint } : {}),
    ...(o.adminEmail && password
      ? { adminUser: { email: o.adminEmail, ...(o.adminName ? { name: o.adminName } : {}), password } }
      : {}),
    ...(labels ? { labels } : {}),
    ...(o.domain && o.domain.length > 0 ? { domains: o.domain } : {}),
    ...(o.login ? { login: true } : {}),
    requestedBy: o.requestedBy ?? process.env.USER ?? 'cli',
  };
  if (!s.json)
    out(`Provisioning ${tenantId} from ${o.template ? `template ${o.template}` : blueprint} on ${s.t.where}`);
  const started = ok<StartedExecutionResponse>(await s.t.call('StartTenant', { body }));
  // --json: the route's answer, and the password (only the CLI knows it; it is never stored).
  if (s.json) printJson(password && started.started ? { ...started, adminPassword: password } : started);
  else out(`  execution ${started.executionName}${startedNote(started.started)}`);
  return afterStart(s, started.executionName, {
    watch: o.watch === true,
    started: started.started,
    what: `Provisioning ${tenantId}`,
    succeeded: async () => {
      const tenant = await getTenant(s, tenantId);
      const summary = tenant.summary ?? {};
      const seconds = (Number(summary.durationMs ?? 0) / 1000).toFixed(2);
      out(
        `Tenant ${tenantId} is ${tenant.status}: schema ${tenant.schemaName}, ${summary.tables} tables, ` +
          `${summary.indexes} indexes, ${summary.seedRows} seed rows, ${seconds} s`,
      );
      if (tenant.login) out(`  login ${tenant.login.role}, its password in ${tenant.login.secret}`);
      if (password && started.started) out(`Admin ${o.adminEmail} password (shown once): ${password}`);
    },
  });
}

interface DeprovisionFlags {
  graceHours?: string;
  preserveAuditLogs?: boolean;
  preserveBackups?: boolean;
  notifyUsers?: boolean;
  reason?: string;
  requestedBy?: string;
  watch?: boolean;
}

/** The body of `POST /tenants/{id}/deprovision` from the flags. */
function deprovisionBody(o: DeprovisionFlags, both: boolean): Record<string, unknown> {
  if (both) throw new UsageError('--preserve-audit-logs and --no-preserve-audit-logs contradict each other');
  const hours = o.graceHours === undefined ? undefined : Number(o.graceHours);
  if (hours !== undefined && (!/^\d+(\.\d+)?$/.test(o.graceHours ?? '') || !Number.isFinite(hours)))
    throw new UsageError('--grace-hours takes a number of hours (0 or more)');
  return {
    ...(hours ? { gracePeriodHours: hours } : {}),
    ...(o.preserveAuditLogs !== undefined ? { preserveAuditLogs: o.preserveAuditLogs } : {}),
    ...(o.preserveBackups ? { preserveBackups: true } : {}),
    ...(o.notifyUsers ? { notifyUsers: true } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
    requestedBy: o.requestedBy ?? process.env.USER ?? 'cli',
  };
}

async function deprovision(
  s: Session,
  tenantId: string,
  o: DeprovisionFlags,
  auditFlags: number,
): Promise<number> {
  const body = deprovisionBody(o, auditFlags > 1);
  const res = ok<DeprovisionStarted | DeprovisionScheduled>(
    await s.t.call('DeprovisionTenant', { params: { tenantId }, body }),
  );
  if (s.json) printJson(res);
  if (res.scheduled) {
    if (!s.json) {
      out(`Tenant ${tenantId} is scheduled for deletion at ${res.dueAt} (${res.scheduleName})`);
      if (s.db) out('  it runs when due while the local API server (npm start) is running');
    }
    return EXIT.ok;
  }
  if (!s.json)
    out(
      `Deprovisioning ${tenantId} on ${s.t.where}\n  execution ${res.executionName}${startedNote(res.started)}`,
    );
  return afterStart(s, res.executionName, {
    watch: o.watch === true,
    started: res.started,
    what: `Deprovisioning ${tenantId}`,
    succeeded: async () => {
      const tenant = await getTenant(s, tenantId);
      out(`Tenant ${tenantId} is ${tenant.status}; backup at ${tenant.backupLocation ?? 'none'}`);
    },
  });
}

async function cancelDeprovision(s: Session, tenantId: string): Promise<number> {
  const res = ok<z.infer<typeof DeprovisionCancelledSchema>>(
    await s.t.call('CancelDeprovision', { params: { tenantId } }),
  );
  if (s.json) printJson(res);
  else out(`Cancelled ${res.scheduleName}: tenant ${tenantId} is ${res.status} again`);
  return EXIT.ok;
}

async function restore(s: Session, tenantId: string, o: { watch?: boolean }): Promise<number> {
  const res = ok<StartedExecutionResponse>(await s.t.call('RestoreTenant', { params: { tenantId } }));
  if (s.json) printJson(res);
  else
    out(
      `Restoring ${tenantId} from its backup on ${s.t.where}\n  execution ${res.executionName}${startedNote(res.started)}`,
    );
  return afterStart(s, res.executionName, {
    watch: o.watch === true,
    started: res.started,
    what: `Restoring ${tenantId}`,
    succeeded: async () => {
      const tenant = await getTenant(s, tenantId);
      out(`Tenant ${tenantId} is ${tenant.status}: ${tenant.summary?.restoredRows ?? 0} rows restored`);
    },
  });
}

async function migrate(
  s: Session,
  tenantId: string,
  o: { to?: string; lockTimeoutMs?: string; watch?: boolean },
): Promise<number> {
  const targetVersion = wholeNumber('to', o.to);
  const lockTimeoutMs = wholeNumber('lock-timeout-ms', o.lockTimeoutMs);
  const body = { ...(targetVersion ? { targetVersion } : {}), ...(lockTimeoutMs ? { lockTimeoutMs } : {}) };
  const res = ok<StartedExecutionResponse>(await s.t.call('MigrateTenant', { params: { tenantId }, body }));
  if (s.json) printJson(res);
  else
    out(`Migrating ${tenantId} on ${s.t.where}\n  execution ${res.executionName}${startedNote(res.started)}`);
  return afterStart(s, res.executionName, {
    watch: o.watch === true,
    started: res.started,
    what: `Migrating ${tenantId}`,
    succeeded: async () => {
      const t = await getTenant(s, tenantId);
      out(`Tenant ${tenantId} is ${t.status} at ${t.blueprint} v${t.blueprintVersion}`);
    },
  });
}

/** `status`: the registry row, the last verify's drift, and the last run's steps (its own workflow's). */
async function status(s: Session, tenantId: string): Promise<number> {
  const tenant = await getTenant(s, tenantId);
  if (s.json) {
    printJson(tenant);
    return EXIT.ok;
  }
  out(`${tenant.tenantId} (${tenant.displayName}): ${tenant.status}`);
  out(`  schema ${tenant.schemaName}, blueprint ${tenant.blueprint} v${tenant.blueprintVersion}`);
  out(`  requested by ${tenant.requestedBy}, updated ${tenant.updatedAt}`);
  const labels = Object.entries(tenant.labels);
  if (labels.length > 0) out(`  labels ${labels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (tenant.domains.length > 0) out(`  domains ${tenant.domains.join(', ')}`);
  if (tenant.login) out(`  login ${tenant.login.role}, its password in ${tenant.login.secret}`);
  if (tenant.templateId)
    out(
      `  template ${tenant.templateName ?? tenant.templateId} v${tenant.templateVersion} (${tenant.templateId})`,
    );
  for (const [what, values] of [
    ['settings', tenant.settings],
    ['limits', tenant.limits],
  ] as const) {
    const pairs = Object.entries(values);
    if (pairs.length > 0) out(`  ${what} ${pairs.map(([k, v]) => `${k}=${valueText(v)}`).join(', ')}`);
  }
  if (tenant.failedStep) out(`  failed at ${tenant.failedStep}: ${JSON.stringify(tenant.lastError)}`);
  if (tenant.driftCheckedAt) {
    const d = tenant.drift;
    out(
      d
        ? `  DRIFT at ${tenant.driftCheckedAt}: ${d.missing.length} missing, ${d.unexpected.length} unexpected, ${d.changed.length} changed (tenantry verify ${tenant.tenantId})`
        : `  verified clean at ${tenant.driftCheckedAt}`,
    );
  }
  const e = ok<ExecutionResponse>(
    await s.t.call('GetExecution', { params: { executionId: tenant.executionId } }),
  );
  out(`  last execution ${e.name}: ${e.status}`);
  for (const step of shownSteps(e.steps)) out(describeStep(step));
  return EXIT.ok;
}

/** `execution <name>`: a run's status and steps; --watch follows it to its end. */
async function execution(s: Session, name: string, o: { watch?: boolean }): Promise<number> {
  const first = ok<ExecutionResponse>(await s.t.call('GetExecution', { params: { executionId: name } }));
  const e = o.watch && first.status === 'RUNNING' ? await followExecution(s, name, true) : first;
  if (s.json) printJson(e);
  else if (!o.watch || first.status !== 'RUNNING') {
    out(`${e.name} of ${e.tenantId}: ${e.status}${e.redriveOf ? ` (a redrive of ${e.redriveOf})` : ''}`);
    for (const step of shownSteps(e.steps)) out(describeStep(step));
    if (e.redrivenBy) out(`  redriven by ${e.redrivenBy}`);
  }
  if (e.status === 'RUNNING' || e.status === 'SUCCEEDED') return EXIT.ok;
  if (o.watch)
    err(`${e.name} ${e.status.toLowerCase()}: ${e.error?.error ?? e.status}: ${e.error?.cause ?? ''}`);
  return EXIT.failed;
}

async function list(s: Session, o: { status?: string }): Promise<number> {
  const items: Tenant[] = [];
  let nextToken: string | undefined;
  do {
    const page: z.infer<typeof TenantPageSchema> = ok(
      await s.t.call('ListTenants', { query: { limit: 500, status: o.status, nextToken } }),
    );
    items.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  if (s.json) {
    printJson({ items });
    return EXIT.ok;
  }
  if (items.length === 0) out('no tenants');
  for (const t of items)
    out(
      `${t.tenantId.padEnd(24)} ${t.status.padEnd(14)} ${`${t.blueprint} v${t.blueprintVersion}`.padEnd(18)} ${t.schemaName}`,
    );
  return EXIT.ok;
}

function describeDrift(report: DriftReport): string[] {
  if (!report.drifted)
    return [
      `${report.tenantId}: clean (${report.blueprint} v${report.blueprintVersion}, ${report.objects} objects)`,
    ];
  return [
    `${report.tenantId}: DRIFT from ${report.blueprint} v${report.blueprintVersion}: ${report.missing.length} missing, ${report.unexpected.length} unexpected, ${report.changed.length} changed`,
    ...report.missing.map((m) => `  - missing    ${m}`),
    ...report.unexpected.map((u) => `  + unexpected ${u}`),
    ...report.changed.flatMap((c) => [
      `  ~ changed    ${c.key}`,
      `      expected ${c.expected}`,
      `      actual   ${c.actual}`,
    ]),
  ];
}

/** `verify <id>` or `verify --all`: exit 0 when clean, 1 when drift was found (or a tenant could not be verified). */
async function verify(
  s: Session,
  tenantId: string | undefined,
  o: { all?: boolean; concurrency?: string },
): Promise<number> {
  if (!o.all) {
    if (!tenantId) throw new UsageError('verify takes one tenant id, or --all');
    if (o.concurrency !== undefined) throw new UsageError('--concurrency goes with --all');
    const report = ok<DriftReport>(await s.t.call('GetTenantDrift', { params: { tenantId } }));
    if (s.json) printJson(report);
    else for (const line of describeDrift(report)) out(line);
    return report.drifted ? EXIT.failed : EXIT.ok;
  }
  if (tenantId) throw new UsageError('verify --all takes no tenant id');
  const concurrency = o.concurrency === undefined ? DEFAULT_VERIFY_CONCURRENCY : Number(o.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new UsageError('--concurrency must be an integer from 1 to 64');
  const ids: string[] = [];
  let nextToken: string | undefined;
  do {
    const page: z.infer<typeof TenantPageSchema> = ok(
      await s.t.call('ListTenants', { query: { limit: 500, status: 'active', nextToken } }),
    );
    ids.push(...page.items.map((t) => t.tenantId));
    nextToken = page.nextToken;
  } while (nextToken);
  type Entry =
    | { tenantId: string; report: DriftReport }
    | { tenantId: string; error: { status: number; detail: string } };
  const results: Entry[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      const id = ids[i] as string;
      const res = await s.t.call('GetTenantDrift', { params: { tenantId: id } });
      const entry: Entry =
        res.status === 200
          ? { tenantId: id, report: res.body as DriftReport }
          : {
              tenantId: id,
              error: { status: res.status, detail: new ApiRefusal(res.status, res.body).message },
            };
      results[i] = entry;
      if (s.json) continue;
      if ('error' in entry) out(`${id}: not verified: ${entry.error.detail}`);
      else for (const line of describeDrift(entry.report)) out(line);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  const drifted = results.filter((r) => 'report' in r && r.report.drifted).length;
  const failed = results.filter((r) => 'error' in r).length;
  const summary = { tenants: ids.length, clean: ids.length - drifted - failed, drifted, failed };
  if (s.json) printJson({ ...summary, results });
  else
    out(
      `${summary.tenants} active tenants: ${summary.clean} clean, ${summary.drifted} drifted, ${summary.failed} not verified`,
    );
  return drifted + failed > 0 ? EXIT.failed : EXIT.ok;
}

async function labels(
  s: Session,
  tenantId: string,
  pairs: string[],
  o: { clear?: boolean },
): Promise<number> {
  const next = labelsArgs(pairs, o.clear === true);
  const tenant = next
    ? ok<Tenant>(await s.t.call('SetTenantLabels', { params: { tenantId }, body: { labels: next } }))
    : await getTenant(s, tenantId);
  if (s.json) printJson(tenant);
  else printLabels(tenant.tenantId, tenant.labels);
  return EXIT.ok;
}

async function domains(
  s: Session,
  tenantId: string,
  hosts: string[],
  o: { clear?: boolean },
): Promise<number> {
  const next = domainsArgs(hosts, o.clear === true);
  const tenant = next
    ? ok<Tenant>(await s.t.call('SetTenantDomains', { params: { tenantId }, body: { domains: next } }))
    : await getTenant(s, tenantId);
  if (s.json) printJson(tenant);
  else printDomains(tenant.tenantId, tenant.domains);
  return EXIT.ok;
}

async function audit(
  s: Session,
  tenantId: string | undefined,
  o: { action?: string; since?: string; until?: string; limit?: string; next?: string },
): Promise<number> {
  const query = auditQuery(o);
  const page = ok<z.infer<typeof AuditPageSchema>>(
    tenantId
      ? await s.t.call('ListTenantAudit', { params: { tenantId }, query })
      : await s.t.call('ListAudit', { query }),
  );
  if (s.json) {
    printJson(page);
    return EXIT.ok;
  }
  printAudit(page.items);
  if (page.nextToken) out(`(more: --next ${page.nextToken})`);
  return EXIT.ok;
}

/** `reconcile [--repair]`: runs the reconciler here (on AWS it runs on its schedule: see `reconciliation`). */
async function reconcileCommand(s: Session, o: { repair?: boolean }): Promise<number> {
  if (!s.db) throw new UsageError('reconcile runs here only');
  const local = new LocalEngine({ db: s.db });
  const rt = { ...local.runtime, engine: new LocalWorkflowEngine(local) };
  // Scoped, so that its metrics are counted for `stats`, and stored before the command ends.
  const run = await withRuntime(rt, () => reconcile(rt, { repair: o.repair === true, actor: cliActor() }));
  await local.metrics.flush();
  if (s.json) {
    printJson(run);
    return run.findings.every((f) => f.repaired) ? EXIT.ok : EXIT.failed;
  }
  return printReconciliation(run);
}

async function reconciliation(s: Session): Promise<number> {
  const r = ok<Reconciliation>(await s.t.call('GetReconciliation'));
  if (s.json) {
    printJson(r);
    return r.findings.every((f) => f.repaired) ? EXIT.ok : EXIT.failed;
  }
  return printReconciliation(r);
}

async function cancel(s: Session, executionName: string): Promise<number> {
  const r = ok<z.infer<typeof CancelledSchema>>(
    await s.t.call('CancelExecution', { params: { executionId: executionName } }),
  );
  if (s.json) printJson(r);
  else
    out(
      `Cancelled ${r.executionId} in ${r.stoppedInStep}: execution ${r.status}, tenant ${r.tenantId} ${r.tenantStatus ?? 'gone'}` +
        (r.droppedSchema ? ' (its schema dropped)' : ''),
    );
  return EXIT.ok;
}

async function redrive(s: Session, executionName: string, o: { watch?: boolean }): Promise<number> {
  const r = ok<StartedExecutionResponse>(
    await s.t.call('RedriveExecution', { params: { executionId: executionName } }),
  );
  if (s.json) printJson(r);
  else
    out(`Redriving ${r.redriveOf ?? executionName}\n  execution ${r.executionName}${startedNote(r.started)}`);
  return afterStart(s, r.executionName, {
    watch: o.watch === true,
    started: r.started,
    what: `Redrive of ${r.tenantId}`,
    succeeded: async () => {
      const res = await s.t.call<Tenant>('GetTenant', { params: { tenantId: r.tenantId } });
      out(`Tenant ${r.tenantId} is ${res.status === 200 ? res.body.status : 'gone'}`);
    },
  });
}

async function stats(s: Session): Promise<number> {
  printJson(ok(await s.t.call('GetStats')));
  return EXIT.ok;
}

// ---- rollouts --------------------------------------------------------------------------------

interface RolloutFlags {
  blueprint?: string;
  to?: string;
  canary?: string;
  canaryTenants?: string;
  growth?: string;
  concurrency?: string;
  haltAt?: string;
  canaryHaltAt?: string;
  tenants?: string;
  template?: string;
  status?: string;
  label?: string;
  plan?: boolean;
  watch?: boolean;
}

/** The body of POST /rollouts and /rollouts/plan from the flags (the caller is the actor, not a field). */
function rolloutBody(o: RolloutFlags) {
  const { requestedBy: _by, ...body } = rolloutRequest({
    blueprint: o.blueprint,
    to: o.to,
    canary: o.canary,
    'canary-tenants': o.canaryTenants,
    growth: o.growth,
    concurrency: o.concurrency,
    'halt-at': o.haltAt,
    'canary-halt-at': o.canaryHaltAt,
    tenants: o.tenants,
    template: o.template,
    status: o.status,
    label: o.label,
  });
  return body;
}

async function rolloutPlan(s: Session, o: RolloutFlags): Promise<number> {
  const plan = ok<RolloutPlan>(await s.t.call('PlanRollout', { body: rolloutBody(o) }));
  if (s.json) printJson(plan);
  else printPlan(plan);
  return EXIT.ok;
}

async function rolloutStart(s: Session, o: RolloutFlags): Promise<number> {
  if (o.plan) return rolloutPlan(s, o);
  const body = rolloutBody(o);
  const started = ok<RolloutStarted>(await s.t.call('StartRollout', { body }));
  if (s.json) printJson(started);
  else
    out(
      `Rollout ${started.rolloutId} of ${body.blueprint} on ${s.t.where}\n  execution ${started.executionName}${startedNote(started.started)}`,
    );
  return afterRollout(s, started.rolloutId, started.executionName, o.watch === true);
}

/** Like afterStart, for a rollout: waited for when it runs here, followed wave by wave with --watch. */
async function afterRollout(s: Session, rolloutId: string, executionName: string, watch: boolean) {
  const here = s.t.runsHere(executionName);
  if (!watch && !here) {
    if (!s.json)
      out(`  it runs on; follow it with: tenantry${apiFlag(s)} rollout status ${rolloutId} --watch`);
    return EXIT.ok;
  }
  const r = await followRollout(s, rolloutId, executionName, watch);
  if (!s.json) printRollout(r as Parameters<typeof printRollout>[0]);
  return rolloutExitCode(r.status);
}

async function followRollout(
  s: Session,
  rolloutId: string,
  executionName: string | undefined,
  watch: boolean,
) {
  const here = executionName !== undefined && s.t.runsHere(executionName);
  const live =
    watch && !s.json && s.tty
      ? new LiveView((t) => process.stdout.write(t), process.stdout.columns || 80)
      : undefined;
  let shown = '';
  let tick = 0;
  const clock = (): FrameClock => ({ now: Date.now(), tick: tick++ });
  for (;;) {
    const r = await callFollowing<Rollout>(s, 'GetRollout', { params: { rolloutId }, query: { limit: 1 } });
    if (live) live.draw(wavesFrame(r, clock()));
    else if (watch && !s.json) {
      const line = wavesLine(r as Parameters<typeof wavesLine>[0]);
      if (line !== shown) out(`  ${line}`);
      shown = line;
    }
    // A rollout whose run here ended without finishing it (its process is this one) is not waited on.
    if (r.status !== 'running' || (here && executionName && !s.t.runsHere(executionName))) return r;
    await animate(s.t.pollMs, live ? () => live.draw(wavesFrame(r, clock())) : undefined);
  }
}

async function rolloutStatus(s: Session, rolloutId: string, o: { watch?: boolean }): Promise<number> {
  if (o.watch) {
    const first = ok<Rollout>(await s.t.call('GetRollout', { params: { rolloutId }, query: { limit: 1 } }));
    if (first.status === 'running') await followRollout(s, rolloutId, undefined, true);
  }
  const tenants: RolloutTenant[] = [];
  let page: Rollout | undefined;
  let nextToken: string | undefined;
  do {
    page = ok<Rollout>(
      await s.t.call('GetRollout', { params: { rolloutId }, query: { limit: 500, nextToken } }),
    );
    tenants.push(...page.tenants);
    nextToken = page.nextToken;
  } while (nextToken);
  const { nextToken: _next, ...whole } = { ...page, tenants };
  if (s.json) printJson(whole);
  else
    printRolloutStatus(
      whole as Parameters<typeof printRolloutStatus>[0],
      tenants as Parameters<typeof printRolloutStatus>[1],
    );
  return EXIT.ok;
}

async function rolloutList(s: Session, o: { limit?: string; next?: string }): Promise<number> {
  const page = ok<z.infer<typeof RolloutPageSchema>>(
    await s.t.call('ListRollouts', { query: { limit: wholeNumber('limit', o.limit), nextToken: o.next } }),
  );
  if (s.json) {
    printJson(page);
    return EXIT.ok;
  }
  if (page.items.length === 0) out('no rollouts');
  for (const r of page.items)
    out(
      `${r.rolloutId}  ${r.blueprint} v${r.targetVersion}  ${r.status.padEnd(9)}  ${r.createdAt}  by ${r.requestedBy}`,
    );
  if (page.nextToken) out(`(more: --next ${page.nextToken})`);
  return EXIT.ok;
}

async function rolloutAction(
  s: Session,
  which: 'pause' | 'resume' | 'cancel',
  rolloutId: string,
  o: { watch?: boolean },
): Promise<number> {
  const id: RouteId =
    which === 'pause' ? 'PauseRollout' : which === 'resume' ? 'ResumeRollout' : 'CancelRollout';
  const r = ok<z.infer<typeof RolloutActionSchema>>(await s.t.call(id, { params: { rolloutId } }));
  if (s.json) printJson(r);
  if (which !== 'resume' || !r.executionName) {
    if (!s.json) printRolloutAction(rolloutId, r);
    return EXIT.ok;
  }
  if (!s.json) out(`Resuming ${rolloutId}: execution ${r.executionName}`);
  return afterRollout(s, rolloutId, r.executionName, o.watch === true);
}

// ---- templates -------------------------------------------------------------------------------

function showTemplate(t: Template): void {
  out(
    `${t.templateId} v${t.currentVersion} (${t.status}, ${t.category}, ${t.tenants} tenants): ${t.name}\n` +
      JSON.stringify(t.definition, null, 2),
  );
}

function templateFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    // As the API reads a body: a limit past 2^53 stays as written.
    return parseJsonLossless(text);
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
}

async function templateCall(s: Session, id: RouteId, input: RouteCall): Promise<number> {
  const t = ok<Template>(await s.t.call(id, input));
  if (s.json) printJson(t);
  else showTemplate(t);
  return EXIT.ok;
}

async function templateList(s: Session): Promise<number> {
  const res = ok<z.infer<typeof TemplateListSchema>>(
    await s.t.call('ListTemplates', { query: { includeArchived: true } }),
  );
  if (s.json) {
    printJson(res);
    return EXIT.ok;
  }
  for (const t of res.items) {
    const limits = Object.entries((t.definition.limits ?? {}) as Record<string, unknown>)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    out(
      `${t.templateId.padEnd(24)} v${String(t.currentVersion).padEnd(3)} ${t.status.padEnd(9)} ${t.category.padEnd(16)} ${limits}`,
    );
  }
  return EXIT.ok;
}

async function templateVersions(s: Session, name: string): Promise<number> {
  const res = ok<z.infer<typeof TemplateVersionListSchema>>(
    await s.t.call('ListTemplateVersions', { params: { templateId: name } }),
  );
  if (s.json) printJson(res);
  else for (const v of res.items) out(`v${v.version} ${v.createdAt} by ${v.createdBy}`);
  return EXIT.ok;
}

async function templateDelete(s: Session, name: string): Promise<number> {
  ok(await s.t.call('DeleteTemplate', { params: { templateId: name } }));
  if (!s.json) out(`deleted template ${name}`);
  return EXIT.ok;
}

// ---- blueprints (this checkout's files) --------------------------------------------------------

async function blueprintList(s: Output): Promise<number> {
  const entries = new BlueprintCatalog().list();
  const broken = entries.filter((e) => !e.blueprint).length;
  if (s.json) {
    printJson({
      items: entries.map(({ name, blueprint: b, problems }) =>
        b
          ? {
              name,
              version: b.version,
              locked: Boolean(b.lock[String(b.version)]),
              description: b.description,
            }
          : { name, problems },
      ),
    });
    return broken > 0 ? EXIT.failed : EXIT.ok;
  }
  for (const { name, blueprint: b, problems } of entries) {
    if (!b) {
      out(`${name.padEnd(16)} BROKEN: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
      for (const p of problems) out(`    ${p}`);
      continue;
    }
    const locked = b.lock[String(b.version)] ? 'locked' : 'NOT LOCKED';
    out(`${name.padEnd(16)} v${b.version} ${locked}: ${b.description}`);
  }
  return broken > 0 ? EXIT.failed : EXIT.ok;
}

async function blueprintLock(s: Output, name: string): Promise<number> {
  const db = await PgliteClient.open();
  try {
    const b = new BlueprintCatalog().get(name);
    const entry = await computeBlueprintLock(db, b);
    const path = writeBlueprintLock(b, entry);
    if (s.json) {
      printJson({
        name,
        version: b.version,
        objects: entry.objects.length,
        fingerprint: entry.fingerprint,
        path,
      });
      return EXIT.ok;
    }
    out(
      `${name} v${b.version}: ${entry.objects.length} catalog objects, fingerprint ${entry.fingerprint.slice(0, 16)}; wrote ${path}`,
    );
    for (const line of routineReportLines(entry.routines)) out(line);
    return EXIT.ok;
  } finally {
    await db.close();
  }
}

/** `blueprint import`: a plain-SQL pg_dump made into a blueprint folder, with the report of every change. */
async function blueprintImport(
  s: Output,
  file: string,
  o: { name: string; schema?: string; data?: boolean; force?: boolean },
): Promise<number> {
  let dump: string;
  try {
    dump = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const imported = importDump(dump, {
    name: o.name,
    data: o.data === true,
    source: file,
    ...(o.schema ? { schema: o.schema } : {}),
  });
  const root = new BlueprintCatalog().root;
  const dir = join(root, imported.name);
  let problems: readonly string[] = [];
  try {
    writeImportedBlueprint(root, imported, { force: o.force === true });
  } catch (error) {
    if (!(error instanceof BlueprintError) || !existsSync(join(dir, 'blueprint.json'))) throw error;
    problems = error.problems.length > 0 ? error.problems : [error.message];
  }
  if (s.json) printJson({ name: imported.name, dir, problems });
  else out(formatImportReport(imported, dir));
  if (problems.length === 0) return EXIT.ok;
  err(`\nThe blueprint was written but does not pass its checks (${problems.length}):`);
  for (const p of problems) err(`  ${p}`);
  return EXIT.failed;
}

// ---- the program -------------------------------------------------------------------------------

const HELP_AFTER = `
Without --api, each command acts on the database here (embedded PGlite, or DATABASE_URL), and a run
it starts runs in this process: the command waits for it to end (with --watch, showing each step as
it goes). With --api, a command that starts a run returns once it has started; --watch follows it.
Every command first finishes runs whose process died (their lease, TENANTRY_LEASE_SECONDS, expired).

Output: --json prints the answer of the command's API route (the HTTP API's response body) instead
of text; errors stay one line on stderr. On a terminal, --watch redraws the steps (or a rollout's
waves) in place; elsewhere it prints a line whenever a step changes.

Exit codes:
  0  done
  1  the operation failed: a run failed, timed out or was cancelled; drift or findings were found;
     a rollout halted or failed; the API failed (5xx, 422)
  2  bad usage or bad input (an unknown command or flag, a value the API refuses with 400)
  3  not found (404: no such tenant, execution, rollout or template)
  4  conflict (409: the tenant, execution or rollout is not in a state that allows it)

Environment:
  DATABASE_URL              a Postgres server (postgres://user@host:5432/db); unset: embedded PGlite
  TENANTRY_DATA_DIR         embedded PGlite's folder (default .tenantry/pgdata)
  TENANTRY_BACKUP_DIR       where deprovisioning writes backups (default .tenantry/backups)
  TENANTRY_SECRETS_DIR      where tenants' own logins keep their passwords, a file each, mode 0600
                            (default .tenantry/secrets)
  TENANTRY_BLUEPRINTS       the folder of your blueprints, one folder each (as --blueprints; default
                            the examples shipped in shared/blueprints)
  TENANTRY_LEASE_SECONDS    how long a run whose process died holds its tenant
  AWS_REGION, AWS_PROFILE   with --api at a deployed API: requests are SigV4-signed with the default
                            credential chain

Help for a command: tenantry <command> --help, or tenantry help <command>.`;

function collect(value: string, previous: string | undefined): string {
  return previous ? `${previous},${value}` : value;
}

/** A flag given again and again, as the list of its values. */
function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function buildProgram(sessions: Sessions): Command {
  const program = new Command('tenantry')
    .description('Provision, inspect, migrate and deprovision schema-per-tenant PostgreSQL tenants')
    .option('--api <url>', 'talk to a deployed (SigV4-signed) or local (npm start) HTTP API instead')
    .option('--json', "print the command's API answer as JSON")
    .option(
      '--blueprints <dir>',
      'the folder of your blueprints (default $TENANTRY_BLUEPRINTS, else the examples)',
    )
    .hook('preAction', (_, cmd) => useBlueprintsFolder(cmd))
    .exitOverride()
    .configureOutput({
      writeOut: (text) => out(text.replace(/\n$/, '')),
      writeErr: (text) => err(text.replace(/\n$/, '')),
      // Parse errors are printed by `failure`, on one line with the command's --help.
      outputError: () => {},
    })
    .addHelpText('after', HELP_AFTER);
  const run = <A extends unknown[]>(fn: (s: Session, ...args: A) => Promise<number>) => action(sessions, fn);
  const files = <A extends unknown[]>(fn: (o: Output, ...args: A) => Promise<number>) =>
    filesAction(sessions, fn);
  const watch = '--watch';
  const watchText = 'show the steps as they go (on a terminal, redrawn in place)';

  program
    .command('provision')
    .description('provision a tenant from a blueprint or a template, and wait for it (locally)')
    .argument('<tenant-id>', 'lowercase letters, digits and -')
    .option(
      '--blueprint <name>',
      "the blueprint (default: the template's, or the only one in the blueprints folder, or school-erp)",
    )
    .option('--template <name>', 'a template (tenantry template list)')
    .option('--admin-email <email>', "with a template that has an admin user: the admin's email")
    .option('--admin-name <name>', "the admin's name")
    .option('--name <display-name>', 'the display name (default the tenant id)')
    .option('--requested-by <who>', 'who asked for it (default $USER)')
    .option('--label <key=value,...>', 'labels (a rollout selects by them); may be given again', collect)
    .option(
      '--domain <host>',
      'a host that resolves to the tenant (GET /resolve); may be given again',
      collectList,
    )
    .option(
      '--login',
      "a login of the tenant's own: a LOGIN role with exactly its role's rights, its password in a secret (status shows where)",
    )
    .option(watch, watchText)
    .addHelpText('after', '\nThe same request again answers with the same execution (idempotent).')
    .action(run(provision));

  const deprovisionCmd = program
    .command('deprovision')
    .description('deprovision a tenant now (a backup, then its schema dropped), or after a grace period')
    .argument('<tenant-id>')
    .option('--grace-hours <hours>', 'schedule it this many hours from now (fires while npm start runs)')
    .option('--preserve-audit-logs', "keep the tenant's audit trail (the default)")
    .option('--no-preserve-audit-logs', "delete the tenant's audit trail too")
    .option('--preserve-backups', 'keep the backup beyond the retention period')
    .option('--notify-users', "tell the tenant's users")
    .option('--reason <text>', 'why, for the audit trail')
    .option('--requested-by <who>', 'who asked for it (default $USER)')
    .option(watch, watchText);
  let auditFlags = 0;
  deprovisionCmd.on('option:preserve-audit-logs', () => auditFlags++);
  deprovisionCmd.on('option:no-preserve-audit-logs', () => auditFlags++);
  deprovisionCmd.action(
    run((s, tenantId: string, o: DeprovisionFlags) => deprovision(s, tenantId, o, auditFlags)),
  );

  program
    .command('cancel-deprovision')
    .description('cancel a scheduled deprovisioning; the tenant gets its status back')
    .argument('<tenant-id>')
    .action(run(cancelDeprovision));

  program
    .command('restore')
    .description('re-provision a deprovisioned tenant from its backup')
    .argument('<tenant-id>')
    .option(watch, watchText)
    .action(run(restore));

  program
    .command('migrate')
    .description('move an active tenant to a newer version of its blueprint (the newest by default)')
    .argument('<tenant-id>')
    .option('--to <version>', 'the target version')
    .option('--lock-timeout-ms <ms>', 'how long a migration waits for a table lock (default 3000)')
    .option(watch, watchText)
    .action(run(migrate));

  program
    .command('status')
    .description("a tenant: its registry row, the last verify's drift, and its last run's steps")
    .argument('<tenant-id>')
    .action(run(status));

  program
    .command('execution')
    .description("a run's status and steps (Provision, Deprovision or Migrate)")
    .argument('<execution>', 'an execution name or ARN')
    .option(watch, 'follow it to its end')
    .action(run(execution));

  program
    .command('list')
    .description('the tenants, by id')
    .addOption(new Option('--status <status>', 'only tenants in this status'))
    .action(run(list));

  program
    .command('verify')
    .description("compare a live tenant with its blueprint version's lock (exit 1 on drift)")
    .argument('[tenant-id]')
    .option('--all', 'every active tenant, then a fleet summary')
    .option('--concurrency <n>', `with --all: how many at once (default ${DEFAULT_VERIFY_CONCURRENCY})`)
    .action(run(verify));

  program
    .command('labels')
    .description("replace a tenant's labels (none given: show them)")
    .argument('<tenant-id>')
    .argument('[key=value...]', 'every label the tenant has from now on')
    .option('--clear', 'remove every label')
    .action(run(labels));

  program
    .command('domains')
    .description("replace a tenant's domains, the hosts that resolve to it (none given: show them)")
    .argument('<tenant-id>')
    .argument('[host...]', 'every host the tenant holds from now on (a host another tenant holds: exit 4)')
    .option('--clear', 'remove every domain')
    .action(run(domains));

  program
    .command('audit')
    .description('the audit trail (of one tenant, or of all), newest first')
    .argument('[tenant-id]')
    .option('--action <action>', "an action ('provision.started') or a family ('provision')")
    .option('--since <time>', 'entries at or after (ISO 8601, e.g. 2026-11-01T00:00:00Z)')
    .option('--until <time>', 'entries before')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--next <token>', 'the page after the one that printed (more: --next <token>)')
    .action(run(audit));

  program
    .command('reconcile')
    .description('compare the registry, the schemas and the executions here (exit 1: findings left)')
    .option('--repair', 'fix what is safe to fix')
    .addHelpText(
      'after',
      '\nLocal only: on AWS the reconciler runs on its schedule (see: tenantry --api <url> reconciliation).',
    )
    .action(run((s, o: { repair?: boolean }) => reconcileCommand(s, o)))
    .hook('preAction', (_, cmd) =>
      localOnly(
        cmd,
        'runs the reconciler on this database; with --api, `reconciliation` shows its last report',
      ),
    );

  program
    .command('reconciliation')
    .description("the reconciler's last report (exit 1: findings left to a person)")
    .action(run(reconciliation));

  program
    .command('cancel')
    .description('stop a run (Provision, Deprovision or Migrate) and clean up after it')
    .argument('<execution>', 'an execution name or ARN')
    .action(run(cancel));

  program
    .command('redrive')
    .description('run a failed, cancelled or interrupted request again')
    .argument('<execution>', 'an execution name or ARN')
    .option(watch, watchText)
    .action(run(redrive));

  program
    .command('stats')
    .description('fleet counts, provisioning outcomes, and the metrics the local runs emitted (JSON)')
    .action(run(stats));

  program
    .command('serve')
    .description('serve the HTTP API and the web console on this machine, until Ctrl-C')
    .option('--port <port>', 'the port (default $PORT, else 3000; 0: any free port)')
    .option('--host <host>', 'the address to listen on (default $HOST, else 127.0.0.1)')
    .action(async (o: { port?: string; host?: string }, cmd: Command) => {
      localOnly(cmd, "serves this machine's database: run it without --api");
      const port = portNumber(o.port ?? process.env.PORT);
      const host = o.host ?? process.env.HOST;
      const { serveLocal } = await import('./server');
      await (await serveLocal({ port, ...(host ? { host } : {}) })).closed;
    });

  const rollout = program
    .command('rollout')
    .description('migrate a blueprint fleet to a newer version in waves, canary first');
  const rolloutFlags = (cmd: Command) =>
    cmd
      .option('--blueprint <name>', 'the blueprint (required)')
      .option('--to <version>', 'the target version (default the newest)')
      .option('--canary <n|n%>', 'the first wave: a count or a percentage of the tenants')
      .option('--canary-tenants <a,b>', 'the first wave: these tenants')
      .option('--growth <factor>', 'how much larger each wave is than the last (default 2)')
      .option('--concurrency <n>', 'tenants migrated at once within a wave (default 4)')
      .option('--halt-at <n|n%>', 'halt when a wave has more failures than this')
      .option('--canary-halt-at <n|n%>', "the canary's tolerance (default 0)")
      .option('--tenants <a,b>', 'select these tenants')
      .option('--template <id>', 'select the tenants made from this template')
      .option('--status <s,...>', 'select tenants in these statuses (default active)')
      .option('--label <key=value,...>', 'select tenants with these labels; may be given again', collect);
  rolloutFlags(rollout.command('plan').description('the waves a rollout would run; changes nothing')).action(
    run((s, o: RolloutFlags) => rolloutPlan(s, o)),
  );
  rolloutFlags(rollout.command('start').description('start a rollout (locally: and wait for it)'))
    .option('--plan', 'only show the plan, as rollout plan')
    .option(watch, 'show each wave as it goes (on a terminal, redrawn in place)')
    .action(run((s, o: RolloutFlags) => rolloutStart(s, o)));
  rollout
    .command('status')
    .description('a rollout: its waves, and every failed or skipped tenant with why')
    .argument('<rollout-id>')
    .option(watch, 'follow a running rollout wave by wave first')
    .action(run(rolloutStatus));
  rollout
    .command('list')
    .description('the rollouts, newest first')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--next <token>', 'the page after the one that printed (more: --next <token>)')
    .action(run((s, o: { limit?: string; next?: string }) => rolloutList(s, o)));
  for (const which of ['pause', 'resume', 'cancel'] as const) {
    const cmd = rollout
      .command(which)
      .description(
        which === 'pause'
          ? 'pause a running rollout before its next wave'
          : which === 'resume'
            ? 'resume a paused or halted rollout; its failed tenants are tried again'
            : 'cancel a rollout: no further tenant starts',
      )
      .argument('<rollout-id>');
    if (which === 'resume') cmd.option(watch, 'show each wave as it goes');
    cmd.action(run((s, id: string, o: { watch?: boolean }) => rolloutAction(s, which, id, o)));
  }

  const template = program
    .command('template')
    .description('templates: a blueprint version with settings, limits and data');
  template
    .command('list')
    .description('every template, archived ones included')
    .action(run((s) => templateList(s)));
  template
    .command('show')
    .description('a template at its current version')
    .argument('<name>', "the template's id or name")
    .action(run((s, name: string) => templateCall(s, 'GetTemplate', { params: { templateId: name } })));
  template
    .command('versions')
    .description("a template's versions, oldest first")
    .argument('<name>')
    .action(run((s, name: string) => templateVersions(s, name)));
  template
    .command('create')
    .description('create a template from a JSON file (after a dry run of it)')
    .requiredOption('--file <template.json>', 'the template definition')
    .action(
      run((s, o: { file: string }) => templateCall(s, 'CreateTemplate', { body: templateFile(o.file) })),
    );
  template
    .command('update')
    .description('save a new version of a template from a JSON file')
    .argument('<name>')
    .requiredOption('--file <template.json>', 'the template definition')
    .action(
      run((s, name: string, o: { file: string }) =>
        templateCall(s, 'UpdateTemplate', { params: { templateId: name }, body: templateFile(o.file) }),
      ),
    );
  template
    .command('archive')
    .description('archive a template: no new tenants from it')
    .argument('<name>')
    .action(run((s, name: string) => templateCall(s, 'ArchiveTemplate', { params: { templateId: name } })));
  template
    .command('delete')
    .description('delete a template (refused while tenants use it, unless it is archived)')
    .argument('<name>')
    .action(run((s, name: string) => templateDelete(s, name)));

  const blueprint = program
    .command('blueprint')
    .description("this checkout's blueprints (local only: they are files)")
    .hook('preSubcommand', (cmd) =>
      localOnly(cmd, 'works on the files of this checkout: run it without --api'),
    );
  blueprint
    .command('list')
    .description('every blueprint, its version and whether that version is locked (exit 1: one is broken)')
    .action(files((o) => blueprintList(o)));
  blueprint
    .command('lock')
    .description("compute a blueprint version's catalog lock and write it into its folder")
    .argument('<name>')
    .action(files((o, name: string) => blueprintLock(o, name)));
  blueprint
    .command('import')
    .description('make a plain-SQL pg_dump into a blueprint (in TENANTRY_BLUEPRINTS)')
    .argument('<dump.sql>')
    .requiredOption('--name <name>', "the new blueprint's name")
    .option('--data', 'keep the rows as seed data')
    .option('--schema <schema>', 'the schema to take (default public)')
    .option('--force', 'replace a blueprint of that name')
    .action(
      files((out, file: string, o: { name: string; schema?: string; data?: boolean; force?: boolean }) =>
        blueprintImport(out, file, o),
      ),
    );
  return program;
}

/** The program's commands and flags, for help and for tests; it opens nothing until a command runs. */
export function cliProgram(): Command {
  return buildProgram(new Sessions({}));
}

/** The command the words name (`rollout start`), for a parse error's pointer to its help. */
function commandPath(program: Command, argv: readonly string[]): string {
  const path: string[] = [];
  let cmd = program;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--api') i++;
    if (word.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    path.push(sub.name());
    cmd = sub;
  }
  return ['tenantry', ...path].join(' ');
}

/** An error as one line on stderr, and its exit code. */
function failure(error: unknown, program?: Command, argv: readonly string[] = []): number {
  if (error instanceof CommanderError) {
    // Help asked for is exit 0; help shown because no command was given, and every parse error, 2.
    if (error.exitCode === 0) return EXIT.ok;
    if (error.code !== 'commander.help' && program)
      err(`${error.message.replace(/^error: /, 'tenantry: ')} (see: ${commandPath(program, argv)} --help)`);
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    err(`tenantry: ${error.message}`);
    return EXIT.usage;
  }
  if (error instanceof ApiRefusal) {
    err(`tenantry: ${error.message}`);
    return exitCodeOf(error.status);
  }
  if (error instanceof TenantryError) {
    // What the CLI itself refused (a blueprint it cannot read, bad input): as the API would answer.
    err(`tenantry: ${error.message}`);
    return exitCodeOf(error.status);
  }
  if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    err(`tenantry: cannot reach the API: ${cause ?? error.message}`);
    return EXIT.failed;
  }
  err(`tenantry: unexpected error: ${(error as Error).message}`);
  return EXIT.failed;
}

export async function main(argv: string[], options: CliOptions = {}): Promise<number> {
  process.env.TENANTRY_LOG_LEVEL ??= 'silent';
  const sessions = new Sessions(options);
  const program = buildProgram(sessions);
  let code: number;
  try {
    await program.parseAsync(argv, { from: 'user' });
    code = sessions.code;
  } catch (error) {
    code = failure(error, program, argv);
  }
  try {
    await sessions.close();
  } catch (error) {
    return Math.max(code, failure(error));
  }
  return code;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
