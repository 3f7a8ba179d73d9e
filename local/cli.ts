#!/usr/bin/env -S npx tsx
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { requestRollout, resumeRollout, startRollout } from '../shared/api/rollouts';
import {
  cancelDeprovision,
  cancelExecution,
  deprovisionTenant,
  getStats,
  getTenant as getTenantRoute,
  listAudit,
  migrateTenant,
  redriveExecution,
  restoreTenant,
  setTenantLabels,
} from '../shared/api/routes';
import { DeprovisionBodySchema, MigrateBodySchema, RolloutBodySchema } from '../shared/api/schemas';
import { BlueprintCatalog } from '../shared/blueprint';
import { formatImportReport, importDump, writeImportedBlueprint } from '../shared/blueprint-import';
import { computeBlueprintLock, routineReportLines, writeBlueprintLock } from '../shared/blueprint-lock';
import { databaseConfigFromEnv } from '../shared/config';
import type { DriftReport } from '../shared/drift/schemas';
import { DEFAULT_VERIFY_CONCURRENCY, verifyFleet, verifyTenant } from '../shared/drift/verify';
import { BlueprintError, TenantryError } from '../shared/errors';
import { LabelsSchema } from '../shared/labels';
import type { HistoryEvent, StepProgress } from '../shared/progress';
import { stepsFromHistory } from '../shared/progress';
import { reconcile } from '../shared/reconcile/reconcile';
import { ensureControlSchema } from '../shared/registry/control';
import { getTenant, listTenants, type TenantStatus } from '../shared/registry/tenants';
import { planRollout } from '../shared/rollout/plan';
import { allRolloutTenants, getRollout } from '../shared/rollout/records';
import { withRuntime } from '../shared/runtime';
import { openDatabase } from '../shared/sql/connect';
import { PgliteClient } from '../shared/sql/pglite';
import type { SqlClient } from '../shared/sql/port';
import { generatePassword, hashPassword } from '../shared/templates/password';
import type { TemplateDefinitionInput } from '../shared/templates/schema';
import { type TemplateRecord, TemplateStore } from '../shared/templates/store';
import { parseOrThrow } from '../shared/validation';
import { DEPROVISION, MIGRATE, PROVISION, WORKFLOW_BY_NAME, type Workflow } from '../statemachine/workflows';
import { ApiClient, DEPROVISION_OPTIONS, deprovisionBody, runRemote } from './api-client';
import { AUDIT_OPTIONS, auditQuery, printAudit, printReconciliation } from './audit-cli';
import { LocalEngine } from './engine';
import { LABELS_OPTIONS, labelsArgs, printLabels } from './labels-cli';
import { recoverExpiredRuns } from './recovery';
import {
  printPlan,
  printRollout,
  printRolloutAction,
  printRolloutStatus,
  ROLLOUT_OPTIONS,
  rolloutExitCode,
  rolloutRequest,
  wavesLine,
} from './rollout-cli';
import { LocalDeletionScheduler } from './scheduler';
import { cliActor, labelsFlag, UsageError, wholeNumber } from './usage';
import { LocalWorkflowEngine } from './workflow-engine';

const USAGE = `tenantry: provision and inspect tenants with the local engine

  tenantry provision <tenant-id> [--blueprint school-erp] [--name "Display name"] [--requested-by you]
                     [--label key=value,...] [--watch]
                     [--template <name> --admin-email you@example.com [--admin-name "Ada"]]
  tenantry deprovision <tenant-id> [--grace-hours N] [--preserve-audit-logs|--no-preserve-audit-logs]
                       [--preserve-backups] [--notify-users] [--reason "..."] [--watch]
  tenantry cancel-deprovision <tenant-id>
  tenantry migrate <tenant-id> [--to N] [--lock-timeout-ms 3000] [--watch]
                                                     move an active tenant to a newer version of its blueprint
  tenantry rollout plan|start --blueprint <name> [--to N] [--canary 5|5% | --canary-tenants a,b] [--growth 2]
                        [--concurrency 4] [--canary-halt-at 0] [--halt-at 5%] [--tenants a,b] [--template id]
                        [--status active] [--label key=value,...] [--plan] [--watch]
                                                     a fleet to a newer version in waves, canary first (plan: change nothing)
  tenantry rollout status|pause|resume|cancel <rollout-id>
  tenantry labels <tenant-id> [key=value ...] [--clear]   replace a tenant's labels (none given: show them)
  tenantry audit [<tenant-id>] [--action provision] [--since 2026-01-01T00:00:00Z] [--until ...] [--limit 100] [--next t]
                                                     the audit trail, newest first
  tenantry reconcile [--repair]                      registry, schemas and executions compared; --repair fixes what is safe
  tenantry restore <tenant-id>                       re-provision a deprovisioned tenant from its backup
  tenantry cancel <execution>                        stop a run (Provision, Deprovision, Migrate) and clean up after it
  tenantry redrive <execution>                       run a failed, cancelled or interrupted request again
  tenantry status <tenant-id>
  tenantry verify <tenant-id>                        compare a live tenant with its blueprint version's lock
  tenantry verify --all [--concurrency 4]            every active tenant, and a fleet summary
  tenantry list [--status active]
  tenantry stats                                     fleet counts, provisioning outcomes and the metrics the runs emitted
  tenantry blueprint list
  tenantry blueprint lock <name>
  tenantry blueprint import <dump.sql> --name <name> [--data] [--schema public] [--force]
                                                     a plain-SQL pg_dump made into a blueprint (TENANTRY_BLUEPRINTS_DIR)
  tenantry template list | show <name> | versions <name> | archive <name> | delete <name>
  tenantry template create --file t.json | update <name> --file t.json
  tenantry --api <url> provision|status|list|deprovision|migrate|rollout|labels|audit|reconciliation|cancel-deprovision|restore|cancel <execution>|redrive <execution>|stats ...
      talks to a deployed (SigV4-signed, default AWS credentials) or local (npm start) HTTP API instead

Database: DATABASE_URL (a Postgres server) or embedded PGlite under TENANTRY_DATA_DIR (default .tenantry/pgdata).
Every command first finishes runs whose process died (their lease, TENANTRY_LEASE_SECONDS, expired).`;

const STEP_NAMES = PROVISION.tasks.map((t) => t.state);
const SYMBOL: Record<StepProgress['status'], string> = {
  pending: '·',
  running: '▶',
  retrying: '↻',
  succeeded: '✓',
  failed: '✗',
  skipped: '-',
  cancelled: '⊘',
};

function describeStep(step: StepProgress): string {
  const duration = step.durationMs !== undefined ? `${step.durationMs} ms` : '';
  const invocations = step.invocations ?? 1;
  const attempts =
    invocations > 1
      ? ` (${invocations} invocations${step.attempts > invocations ? `, ${step.attempts} attempts` : ''})`
      : step.attempts > 1
        ? ` (${step.attempts} attempts)`
        : '';
  const error = step.error && step.status !== 'succeeded' ? `  ${step.error.error}: ${step.error.cause}` : '';
  const warnings = step.warnings.map((w) => `\n      warning: ${w}`).join('');
  const label = ['retrying', 'running', 'skipped'].includes(step.status) ? step.status : '';
  return `  ${SYMBOL[step.status]} ${step.name.padEnd(14)} ${label || duration.padStart(8)}${attempts}${error}${warnings}`;
}

function describeBackend(db: SqlClient): string {
  const config = databaseConfigFromEnv();
  if (config.kind === 'pglite') return `embedded PGlite at ${config.dataDir}`;
  if (config.kind === 'postgres') return `Postgres at ${new URL(config.url).host}`;
  return `${db.backend}`;
}

async function provision(db: SqlClient, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      blueprint: { type: 'string' },
      template: { type: 'string' },
      'admin-email': { type: 'string' },
      'admin-name': { type: 'string' },
      name: { type: 'string' },
      'requested-by': { type: 'string' },
      label: { type: 'string' },
      watch: { type: 'boolean', default: false },
    },
  });
  const tenantId = positionals[0];
  if (!tenantId || positionals.length > 1) throw new UsageError('provision takes exactly one tenant id');
  const labels = labelsFlag(values.label);
  const engine = new LocalEngine({ db });
  // The admin's password is made here and shown once; only its hash goes into the workflow.
  const password = values['admin-email'] ? generatePassword() : undefined;
  const input = {
    tenantId,
    displayName: values.name ?? tenantId,
    ...(values.template ? { template: values.template } : { blueprint: values.blueprint ?? 'school-erp' }),
    ...(values.blueprint && values.template ? { blueprint: values.blueprint } : {}),
    ...(values['admin-email'] && password
      ? {
          adminUser: {
            email: values['admin-email'],
            ...(values['admin-name'] ? { name: values['admin-name'] } : {}),
            passwordHash: await hashPassword(password),
          },
        }
      : {}),
    ...(labels ? { labels } : {}),
    requestedBy: values['requested-by'] ?? process.env.USER ?? 'cli',
    actor: cliActor(),
  };
  const source = values.template ? `template ${values.template}` : (input.blueprint ?? 'school-erp');
  console.log(`Provisioning ${tenantId} from ${source} on ${describeBackend(db)}`);
  const run = await engine.start(PROVISION, tenantId, input);
  console.log(
    `  execution ${run.executionId}${run.alreadyRunning ? ' (already running: not starting another)' : ''}`,
  );
  if (values.watch) {
    const history: HistoryEvent[] = [];
    const shown = new Map<string, string>();
    run.events.on('event', (event: HistoryEvent) => {
      history.push(event);
      for (const step of stepsFromHistory(STEP_NAMES, history).steps) {
        if (step.status === 'pending' || step.status === 'skipped') continue;
        const key = `${step.status}:${Math.max(step.attempts, 1)}`;
        if (shown.get(step.name) === key) continue;
        shown.set(step.name, key);
        console.log(describeStep(step));
      }
    });
  }
  const record = await run.done;
  const progress = await engine.progress(PROVISION, record.executionId);
  if (!values.watch) {
    for (const step of progress.steps)
      if (step.status !== 'skipped' || step.name !== 'Cleanup') console.log(describeStep(step));
  }
  const tenant = await getTenant(db, tenantId);
  if (record.status === 'SUCCEEDED' && tenant) {
    const s = tenant.summary ?? {};
    const seconds = (Number(s.durationMs ?? 0) / 1000).toFixed(2);
    console.log(
      `Tenant ${tenantId} is ${tenant.status}: schema ${tenant.schemaName}, ${s.tables} tables, ${s.indexes} indexes, ` +
        `${s.seedRows} seed rows, ${seconds} s`,
    );
    if (password) console.log(`Admin ${values['admin-email']} password (shown once): ${password}`);
    return 0;
  }
  const error = progress.error ?? { error: record.error ?? record.status, cause: record.cause ?? '' };
  console.error(`Provisioning ${tenantId} ${record.status.toLowerCase()}: ${error.error}: ${error.cause}`);
  return 1;
}

/** The API's runtime, in process: the local engine and scheduler on this database. */
function localApi(db: SqlClient) {
  const local = new LocalEngine({ db });
  const engine = new LocalWorkflowEngine(local);
  return { local, rt: { ...local.runtime, engine }, scheduler: new LocalDeletionScheduler(local) };
}

/**
 * Deprovisions now (waiting for the run, steps shown with --watch), or schedules it after
 * --grace-hours; a schedule fires while `npm start` runs (its scheduler polls), even after a restart.
 */
async function deprovision(db: SqlClient, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: DEPROVISION_OPTIONS });
  const tenantId = positionals[0];
  if (!tenantId || positionals.length > 1) throw new UsageError('deprovision takes exactly one tenant id');
  const raw = deprovisionBody(values);
  if (typeof raw === 'string') throw new UsageError(raw);
  const { local, rt, scheduler } = localApi(db);
  const result = await deprovisionTenant(
    rt,
    scheduler,
    tenantId,
    parseOrThrow(DeprovisionBodySchema, raw),
    cliActor(),
  );
  if (result.scheduled) {
    console.log(`Tenant ${tenantId} is scheduled for deletion at ${result.dueAt} (${result.scheduleName})`);
    console.log('  it runs when due while the local API server (npm start) is running');
    return 0;
  }
  console.log(
    `Deprovisioning ${tenantId} on ${describeBackend(db)}\n  execution ${result.executionId}${result.started ? '' : ' (already started: not starting another)'}`,
  );
  const progress = await followRun(local, DEPROVISION, result.executionId, values.watch === true);
  const tenant = await getTenant(db, tenantId);
  if (progress.status === 'SUCCEEDED') {
    console.log(`Tenant ${tenantId} is ${tenant?.status}; backup at ${tenant?.backupLocation ?? 'none'}`);
    return 0;
  }
  const e = progress.error;
  console.error(`Deprovisioning ${tenantId} ${progress.status.toLowerCase()}: ${e?.error}: ${e?.cause}`);
  return 1;
}

/** Waits for a run to end; with `watch`, prints each step as it starts, retries and ends. */
async function followRun(local: LocalEngine, workflow: Workflow, executionId: string, watch: boolean) {
  const shown = new Map<string, string>();
  for (;;) {
    const progress = await local.progress(workflow, executionId);
    if (watch) {
      for (const step of progress.steps) {
        if (step.status === 'pending' || step.status === 'skipped') continue;
        const key = `${step.status}:${Math.max(step.attempts, 1)}`;
        if (shown.get(step.name) === key) continue;
        shown.set(step.name, key);
        console.log(describeStep(step));
      }
    }
    if (progress.status !== 'RUNNING') return progress;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The workflow an execution ARN belongs to (`...:execution:<Workflow>:<name>`). */
function workflowOf(executionId: string): Workflow {
  const name = executionId.split(':').at(-2);
  return Object.values(WORKFLOW_BY_NAME).find((w) => w.name === name) ?? PROVISION;
}

const MIGRATE_OPTIONS = {
  to: { type: 'string' },
  'lock-timeout-ms': { type: 'string' },
  watch: { type: 'boolean' },
} as const;

/** Moves an active tenant to a newer version of its blueprint (the newest by default) and waits. */
async function migrate(db: SqlClient, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: MIGRATE_OPTIONS });
  const tenantId = positionals[0];
  if (!tenantId || positionals.length > 1) throw new UsageError('migrate takes exactly one tenant id');
  const targetVersion = wholeNumber('to', values.to);
  const lockTimeoutMs = wholeNumber('lock-timeout-ms', values['lock-timeout-ms']);
  const body = parseOrThrow(MigrateBodySchema, {
    ...(targetVersion ? { targetVersion } : {}),
    ...(lockTimeoutMs ? { lockTimeoutMs } : {}),
  });
  const { local, rt } = localApi(db);
  const result = await migrateTenant(rt, tenantId, body, cliActor());
  console.log(
    `Migrating ${tenantId} on ${describeBackend(db)}\n  execution ${result.executionId}${result.started ? '' : ' (already started: not starting another)'}`,
  );
  const progress = await followRun(local, MIGRATE, result.executionId, values.watch === true);
  const tenant = await getTenant(db, tenantId);
  if (progress.status === 'SUCCEEDED') {
    console.log(
      `Tenant ${tenantId} is ${tenant?.status} at ${tenant?.blueprint} v${tenant?.blueprintVersion}`,
    );
    return 0;
  }
  const e = progress.error;
  console.error(
    `Migrating ${tenantId} ${progress.status.toLowerCase()}: ${e?.error}: ${e?.cause}\n` +
      `  tenant ${tenantId} is ${tenant?.status} at ${tenant?.blueprint} v${tenant?.blueprintVersion}`,
  );
  return 1;
}

/** Re-provisions a deprovisioned tenant from its backup and waits for the run, showing its steps. */
async function restore(db: SqlClient, args: string[]): Promise<number> {
  const tenantId = args[0];
  if (!tenantId || args.length > 1) throw new UsageError('restore takes exactly one tenant id');
  const { local, rt } = localApi(db);
  const result = await restoreTenant(rt, tenantId, cliActor());
  console.log(
    `Restoring ${tenantId} from its backup on ${describeBackend(db)}\n  execution ${result.executionId}`,
  );
  for (;;) {
    const progress = await local.progress(PROVISION, result.executionId);
    if (progress.status !== 'RUNNING') {
      for (const step of progress.steps) if (step.status !== 'skipped') console.log(describeStep(step));
      if (progress.status === 'SUCCEEDED') {
        const tenant = await getTenant(db, tenantId);
        console.log(
          `Tenant ${tenantId} is ${tenant?.status}: ${tenant?.summary?.restoredRows ?? 0} rows restored`,
        );
        return 0;
      }
      console.error(
        `Restoring ${tenantId} ${progress.status.toLowerCase()}: ${progress.error?.error}: ${progress.error?.cause}`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits for a run of this process to end, then prints its steps and outcome. */
async function awaitRun(local: LocalEngine, executionId: string, what: string): Promise<number> {
  const workflow = workflowOf(executionId);
  for (;;) {
    const progress = await local.progress(workflow, executionId);
    if (progress.status !== 'RUNNING') {
      for (const step of progress.steps) if (step.status !== 'skipped') console.log(describeStep(step));
      if (progress.status === 'SUCCEEDED') {
        console.log(`${what} succeeded`);
        return 0;
      }
      console.error(
        `${what} ${progress.status.toLowerCase()}: ${progress.error?.error}: ${progress.error?.cause}`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops a run (of any process on this database) and cleans up after it, as POST /executions/{id}/cancel. */
async function cancel(db: SqlClient, args: string[]): Promise<number> {
  const ref = args[0];
  if (!ref || args.length > 1) throw new UsageError('cancel takes exactly one execution name or ARN');
  const { rt } = localApi(db);
  const result = await cancelExecution(rt, ref, cliActor());
  console.log(
    `Cancelled ${result.executionId} in ${result.stoppedInStep}: execution ${result.status}, tenant ${result.tenantId} ${result.tenantStatus ?? 'gone'}` +
      (result.droppedSchema ? ' (its schema dropped)' : ''),
  );
  return 0;
}

/** Runs a failed, cancelled or interrupted request again and waits for it, as POST /executions/{id}/redrive. */
async function redrive(db: SqlClient, args: string[]): Promise<number> {
  const ref = args[0];
  if (!ref || args.length > 1) throw new UsageError('redrive takes exactly one execution name or ARN');
  const { local, rt } = localApi(db);
  const result = await redriveExecution(rt, ref);
  console.log(
    `Redriving ${result.redriveOf}\n  execution ${result.executionId}${result.started ? '' : ' (already started: not starting another)'}`,
  );
  const record = await local.describe(result.executionId);
  if (record?.status === 'RUNNING' && !local.liveExecutionIds().includes(result.executionId)) {
    console.log('  it is running in another process');
    return 0;
  }
  const code = await awaitRun(local, result.executionId, `Redrive of ${result.tenantId}`);
  const tenant = await getTenant(db, result.tenantId);
  console.log(`Tenant ${result.tenantId} is ${tenant?.status ?? 'gone'}`);
  return code;
}

/** `tenantry rollout plan ...`: which tenants a rollout would migrate, in which waves; changes nothing. */
async function rollout(db: SqlClient, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'plan':
    case 'start':
      return rolloutStart(db, sub, rest);
    case 'status':
    case 'pause':
    case 'resume':
    case 'cancel': {
      const [id, ...extra] = rest;
      if (!id || extra.length > 0) throw new UsageError(`rollout ${sub} takes exactly one rollout id`);
      return rolloutById(db, sub, id);
    }
    default:
      throw new UsageError(
        `unknown rollout command '${sub ?? ''}' (rollout plan|start --blueprint <name> ..., rollout status|pause|resume|cancel <id>)`,
      );
  }
}

/** `rollout plan` prints the waves; `rollout start` (or `start --plan`) runs them here, waiting, wave by wave with --watch. */
async function rolloutStart(db: SqlClient, sub: 'plan' | 'start', args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...ROLLOUT_OPTIONS, plan: { type: 'boolean' }, watch: { type: 'boolean' } },
  });
  if (positionals.length > 0)
    throw new UsageError(`rollout ${sub} takes no positional arguments: ${positionals.join(' ')}`);
  const { plan: dryRun, watch, ...flags } = values;
  const request = rolloutRequest(flags);
  await ensureControlSchema(db);
  if (sub === 'plan' || dryRun) {
    printPlan(await planRollout(db, new BlueprintCatalog().get(request.blueprint), request));
    return 0;
  }
  const { local, rt } = localApi(db);
  const { requestedBy, ...body } = request;
  const started = await startRollout(rt, parseOrThrow(RolloutBodySchema, body), requestedBy);
  console.log(
    `Rollout ${started.rolloutId} of ${request.blueprint} on ${describeBackend(db)}\n  execution ${started.executionId}` +
      (started.started ? '' : ' (already started: not starting another)'),
  );
  return followRollout(local, db, started.rolloutId, started.executionId, watch === true);
}

/** Waits for a rollout's execution to end, printing each wave's counts as they change with `watch`. */
async function followRollout(
  local: LocalEngine,
  db: SqlClient,
  rolloutId: string,
  executionId: string,
  watch: boolean,
): Promise<number> {
  let shown = '';
  for (;;) {
    const record = await local.describe(executionId);
    const current = await getRollout(db, rolloutId);
    if (watch && current) {
      const line = wavesLine(current);
      if (line !== shown) console.log(`  ${line}`);
      shown = line;
    }
    if (record?.status !== 'RUNNING') {
      if (!current) return 1;
      printRollout(current);
      return rolloutExitCode(current.status);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `rollout status|pause|resume|cancel <id>`; resume runs the rest here and waits. */
async function rolloutById(db: SqlClient, sub: 'status' | 'pause' | 'resume' | 'cancel', rolloutId: string) {
  await ensureControlSchema(db);
  if (sub === 'status') {
    const r = await getRollout(db, rolloutId);
    if (!r) {
      console.error(`no rollout '${rolloutId}'`);
      return 1;
    }
    printRolloutStatus(r, await allRolloutTenants(db, rolloutId));
    return 0;
  }
  if (sub === 'resume') {
    const { local, rt } = localApi(db);
    const resumed = await resumeRollout(rt, rolloutId, cliActor());
    console.log(`Resuming ${rolloutId}: execution ${resumed.executionName}`);
    return followRollout(
      local,
      db,
      rolloutId,
      rt.engine.executionArn(resumed.executionName, 'Rollout'),
      false,
    );
  }
  const result = await requestRollout({ db, blueprints: new BlueprintCatalog() }, rolloutId, sub, cliActor());
  printRolloutAction(rolloutId, result);
  return 0;
}

/** `tenantry audit [<tenant-id>] [--action a] [--since t] [--until t] [--limit n]`: newest first. */
async function audit(db: SqlClient, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: AUDIT_OPTIONS });
  if (positionals.length > 1) throw new UsageError('audit takes at most one tenant id');
  const page = await listAudit(
    { db, blueprints: new BlueprintCatalog() },
    auditQuery(values),
    positionals[0],
  );
  printAudit(page.items);
  if (page.nextToken) console.log(`(more: --next ${page.nextToken})`);
  return 0;
}

/** `tenantry stats`: what GET /stats answers, the metrics the local runs emitted included. */
async function stats(db: SqlClient, args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError('stats takes no arguments');
  const { rt } = localApi(db);
  console.log(JSON.stringify(await getStats(rt), null, 2));
  return 0;
}

/**
 * `tenantry reconcile [--repair]`: the registry, the tenant schemas and the executions compared
 * (shared/reconcile/); with --repair, what is safe is fixed. Exit 1 when findings are left.
 */
async function reconcileCommand(db: SqlClient, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { repair: { type: 'boolean' } },
  });
  if (positionals.length > 0) throw new UsageError('reconcile takes no arguments but --repair');
  const { rt } = localApi(db);
  // Scoped, so that its metrics are counted for `stats`, and stored before the command ends.
  const run = await withRuntime(rt, () =>
    reconcile(rt, { repair: values.repair === true, actor: cliActor() }),
  );
  await rt.metrics?.flush();
  return printReconciliation(run);
}

/** `tenantry labels <id> [key=value ...] [--clear]`: a tenant's labels replaced (none given: shown). */
async function labels(db: SqlClient, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: LABELS_OPTIONS });
  const [tenantId, ...pairs] = positionals;
  if (!tenantId) throw new UsageError('labels takes a tenant id, then key=value pairs or --clear');
  const next = labelsArgs(pairs, values.clear === true);
  const { rt } = localApi(db);
  const tenant = next
    ? await setTenantLabels(rt, tenantId, parseOrThrow(LabelsSchema, next), cliActor())
    : await getTenantRoute(rt, tenantId);
  printLabels(tenant.tenantId, tenant.labels);
  return 0;
}

async function cancelDeprovisionCommand(db: SqlClient, args: string[]): Promise<number> {
  const tenantId = args[0];
  if (!tenantId || args.length > 1) throw new UsageError('cancel-deprovision takes exactly one tenant id');
  const { rt, scheduler } = localApi(db);
  const result = await cancelDeprovision(rt, scheduler, tenantId, cliActor());
  console.log(`Cancelled ${result.scheduleName}: tenant ${tenantId} is ${result.status} again`);
  return 0;
}

async function status(db: SqlClient, args: string[]): Promise<number> {
  const tenantId = args[0];
  if (!tenantId) throw new UsageError('status takes a tenant id');
  await ensureControlSchema(db);
  const tenant = await getTenant(db, tenantId);
  if (!tenant) {
    console.error(`no tenant '${tenantId}'`);
    return 1;
  }
  console.log(`${tenant.tenantId} (${tenant.displayName}): ${tenant.status}`);
  console.log(`  schema ${tenant.schemaName}, blueprint ${tenant.blueprint} v${tenant.blueprintVersion}`);
  console.log(`  requested by ${tenant.requestedBy}, updated ${tenant.updatedAt}`);
  const labels = Object.entries(tenant.labels);
  if (labels.length > 0) console.log(`  labels ${labels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (tenant.failedStep) console.log(`  failed at ${tenant.failedStep}: ${JSON.stringify(tenant.lastError)}`);
  if (tenant.driftCheckedAt) {
    const d = tenant.drift;
    console.log(
      d
        ? `  DRIFT at ${tenant.driftCheckedAt}: ${d.missing.length} missing, ${d.unexpected.length} unexpected, ${d.changed.length} changed (tenantry verify ${tenant.tenantId})`
        : `  verified clean at ${tenant.driftCheckedAt}`,
    );
  }
  const engine = new LocalEngine({ db });
  const progress = await engine.progress(workflowOf(tenant.executionId), tenant.executionId);
  console.log(`  last execution ${tenant.executionId}: ${progress.status}`);
  for (const step of progress.steps)
    if (step.status !== 'skipped' || step.name !== 'Cleanup') console.log(describeStep(step));
  return 0;
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
async function verify(db: SqlClient, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { all: { type: 'boolean', default: false }, concurrency: { type: 'string' } },
  });
  const rt = { db, blueprints: new BlueprintCatalog() };
  if (values.all) {
    if (positionals.length > 0) throw new UsageError('verify --all takes no tenant id');
    const concurrency =
      values.concurrency === undefined ? DEFAULT_VERIFY_CONCURRENCY : Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
      throw new UsageError('--concurrency must be an integer from 1 to 64');
    const summary = await verifyFleet(rt, {
      concurrency,
      onTenant: (entry) => {
        if ('error' in entry)
          console.log(`${entry.tenantId}: not verified: ${entry.error.name}: ${entry.error.message}`);
        else for (const line of describeDrift(entry.report)) console.log(line);
      },
    });
    console.log(
      `${summary.tenants} active tenants: ${summary.clean} clean, ${summary.drifted} drifted, ${summary.failed} not verified`,
    );
    return summary.drifted + summary.failed > 0 ? 1 : 0;
  }
  const tenantId = positionals[0];
  if (!tenantId || positionals.length > 1) throw new UsageError('verify takes one tenant id, or --all');
  const report = await verifyTenant(rt, tenantId, cliActor());
  for (const line of describeDrift(report)) console.log(line);
  return report.drifted ? 1 : 0;
}

async function list(db: SqlClient, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { status: { type: 'string' } } });
  await ensureControlSchema(db);
  const tenants = await listTenants(
    db,
    values.status ? { status: values.status as TenantStatus, limit: 500 } : { limit: 500 },
  );
  if (tenants.length === 0) console.log('no tenants');
  for (const t of tenants) {
    console.log(
      `${t.tenantId.padEnd(24)} ${t.status.padEnd(14)} ${`${t.blueprint} v${t.blueprintVersion}`.padEnd(18)} ${t.schemaName}`,
    );
  }
  return 0;
}

/** `blueprint import`: a plain-SQL pg_dump made into a blueprint folder, with the report of every change. */
function importBlueprint(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      schema: { type: 'string' },
      data: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0 || !values.name)
    throw new UsageError(
      'usage: tenantry blueprint import <dump.sql> --name <blueprint> [--data] [--schema public] [--force]',
    );
  let dump: string;
  try {
    dump = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const imported = importDump(dump, {
    name: values.name,
    data: values.data,
    source: file,
    ...(values.schema ? { schema: values.schema } : {}),
  });
  const root = new BlueprintCatalog().root;
  const dir = join(root, imported.name);
  let problems: readonly string[] = [];
  try {
    writeImportedBlueprint(root, imported, { force: values.force });
  } catch (error) {
    if (!(error instanceof BlueprintError) || !existsSync(join(dir, 'blueprint.json'))) throw error;
    problems = error.problems.length > 0 ? error.problems : [error.message];
  }
  console.log(formatImportReport(imported, dir));
  if (problems.length === 0) return 0;
  console.error(`\nThe blueprint was written but does not pass its checks (${problems.length}):`);
  for (const p of problems) console.error(`  ${p}`);
  return 1;
}

async function blueprint(args: string[]): Promise<number> {
  const [sub, name] = args;
  if (sub === 'import') return importBlueprint(args.slice(1));
  const engine = new LocalEngine({ db: await PgliteClient.open() });
  try {
    if (sub === 'list') {
      let broken = 0;
      for (const { name: n, blueprint: b, problems } of engine.blueprints.list()) {
        if (!b) {
          broken++;
          console.log(
            `${n.padEnd(16)} BROKEN: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
          );
          for (const p of problems) console.log(`    ${p}`);
          continue;
        }
        const locked = b.lock[String(b.version)] ? 'locked' : 'NOT LOCKED';
        console.log(`${n.padEnd(16)} v${b.version} ${locked}: ${b.description}`);
      }
      return broken > 0 ? 1 : 0;
    }
    if (sub === 'lock' && name) {
      const b = engine.blueprints.get(name);
      const entry = await computeBlueprintLock(engine.db, b);
      const path = writeBlueprintLock(b, entry);
      console.log(
        `${name} v${b.version}: ${entry.objects.length} catalog objects, fingerprint ${entry.fingerprint.slice(0, 16)}; wrote ${path}`,
      );
      for (const line of routineReportLines(entry.routines)) console.log(line);
      return 0;
    }
    throw new UsageError(
      'usage: tenantry blueprint list | tenantry blueprint lock <name> | tenantry blueprint import <dump.sql> --name <name>',
    );
  } finally {
    await engine.db.close();
  }
}

async function template(db: SqlClient, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { file: { type: 'string' } },
  });
  const [sub, name] = positionals;
  const store = new TemplateStore(db, new BlueprintCatalog());
  const actor = cliActor();
  const fromFile = () => {
    if (!values.file) throw new UsageError(`template ${sub} needs --file <template.json>`);
    return JSON.parse(readFileSync(values.file, 'utf8')) as TemplateDefinitionInput;
  };
  const show = (t: TemplateRecord) =>
    console.log(
      `${t.templateId} v${t.currentVersion} (${t.status}, ${t.category}, ${t.tenants} tenants): ${t.name}\n` +
        JSON.stringify(t.definition, null, 2),
    );
  switch (sub) {
    case 'list':
      for (const t of await store.list({ includeArchived: true })) {
        const limits = Object.entries(t.definition.limits)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        console.log(
          `${t.templateId.padEnd(24)} v${String(t.currentVersion).padEnd(3)} ${t.status.padEnd(9)} ${t.category.padEnd(16)} ${limits}`,
        );
      }
      return 0;
    case 'show':
      if (!name) throw new UsageError('template show <name>');
      show(await store.get(name));
      return 0;
    case 'versions':
      if (!name) throw new UsageError('template versions <name>');
      for (const v of await store.versions(name))
        console.log(`v${v.version} ${v.createdAt} by ${v.createdBy}`);
      return 0;
    case 'create':
      show(await store.create(fromFile(), actor));
      return 0;
    case 'update':
      if (!name) throw new UsageError('template update <name> --file <template.json>');
      show(await store.update(name, fromFile(), actor));
      return 0;
    case 'archive':
      if (!name) throw new UsageError('template archive <name>');
      show(await store.archive(name));
      return 0;
    case 'delete':
      if (!name) throw new UsageError('template delete <name>');
      await store.delete(name);
      console.log(`deleted template ${name}`);
      return 0;
    default:
      throw new UsageError('usage: tenantry template list|show|versions|create|update|archive|delete');
  }
}

export async function main(argv: string[]): Promise<number> {
  process.env.TENANTRY_LOG_LEVEL ??= 'silent';
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  try {
    if (command === '--api') {
      const [url, sub, ...subArgs] = rest;
      if (!url || !sub) throw new UsageError('usage: tenantry --api <url> <command> ...');
      return await runRemote(new ApiClient(url), sub, subArgs, { describeStep });
    }
    if (command === 'blueprint') return await blueprint(rest);
    const handlers: Record<string, (db: SqlClient, args: string[]) => Promise<number>> = {
      provision,
      deprovision,
      migrate,
      rollout,
      labels,
      audit,
      reconcile: reconcileCommand,
      'cancel-deprovision': cancelDeprovisionCommand,
      cancel,
      redrive,
      restore,
      status,
      verify,
      list,
      stats,
      template,
    };
    const run = handlers[command];
    if (!run) throw new UsageError(`unknown command '${command}' (try: tenantry help)`);
    const config = databaseConfigFromEnv();
    const db = await openDatabase(config);
    try {
      // Runs whose process died are finished first (their lease expired). The embedded database
      // belongs to this process alone: there, every run still marked RUNNING was cut off.
      const recovered = await recoverExpiredRuns(new LocalEngine({ db }), {
        everyRun: config.kind === 'pglite',
      }).catch((error: unknown) => {
        console.error(`tenantry: could not look for interrupted runs: ${(error as Error).message}`);
        return [];
      });
      for (const r of recovered) {
        console.error(
          `recovered interrupted run ${r.executionId} of ${r.tenantId} (stopped in ${r.step}; cleaned up)`,
        );
      }
      return await run(db, rest);
    } finally {
      await db.close();
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof TenantryError) {
      console.error(`tenantry: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`tenantry: ${error.message}`);
      return 2;
    }
    console.error(`tenantry: unexpected error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
