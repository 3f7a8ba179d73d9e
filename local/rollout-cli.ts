import { parseArgs } from 'node:util';
import type { RolloutRecord, RolloutTenantRecord } from '../shared/rollout/records';
import { type RolloutPlan, type RolloutRequest, RolloutRequestSchema } from '../shared/rollout/schemas';
import { parseOrThrow } from '../shared/validation';
import type { ApiClient, ApiResponse } from './api-client';
import { cliActor, labelsFlag, UsageError, wholeNumber } from './usage';

/**
 * `tenantry rollout ...`: the flags, the request they make and how a rollout is shown, the same in
 * process (cli.ts) and against an HTTP API (`tenantry --api <url> rollout ...`, below).
 */

export const ROLLOUT_OPTIONS = {
  blueprint: { type: 'string' },
  to: { type: 'string' },
  canary: { type: 'string' },
  'canary-tenants': { type: 'string' },
  growth: { type: 'string' },
  concurrency: { type: 'string' },
  'halt-at': { type: 'string' },
  'canary-halt-at': { type: 'string' },
  tenants: { type: 'string' },
  template: { type: 'string' },
  status: { type: 'string' },
  label: { type: 'string' },
} as const;

/** `5` is a count, `5%` a percentage: of tenants (a wave) or of failures (a threshold). */
function countOrPercent(flag: string, text: string | undefined) {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  if (!m) throw new UsageError(`--${flag} takes a count (5) or a percentage (5%), not '${text}'`);
  return m[2] ? { percent: Number(m[1]) } : { count: Number(m[1]) };
}

const commaList = (text: string | undefined) =>
  text === undefined ? undefined : text.split(',').filter(Boolean);

/** The rollout request the flags describe, validated like the body of POST /rollouts. */
export function rolloutRequest(values: { [K in keyof typeof ROLLOUT_OPTIONS]?: string }): RolloutRequest {
  if (!values.blueprint) throw new UsageError('rollout needs --blueprint <name>');
  const canaryTenants = commaList(values['canary-tenants']);
  const number = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`--${flag} takes a number, not '${text}'`);
    return n;
  };
  const selector = {
    ...(values.tenants ? { tenantIds: commaList(values.tenants) } : {}),
    ...(values.template ? { template: values.template } : {}),
    ...(values.status ? { statuses: commaList(values.status) } : {}),
    ...(values.label ? { labels: labelsFlag(values.label) } : {}),
  };
  return parseOrThrow(RolloutRequestSchema, {
    blueprint: values.blueprint,
    ...(values.to !== undefined ? { targetVersion: wholeNumber('to', values.to) } : {}),
    selector,
    ...(canaryTenants ? { canary: { tenants: canaryTenants } } : {}),
    ...(values.canary !== undefined ? { canary: countOrPercent('canary', values.canary) } : {}),
    ...(values.growth !== undefined ? { growth: number('growth', values.growth) } : {}),
    ...(values.concurrency !== undefined
      ? { concurrency: wholeNumber('concurrency', values.concurrency) }
      : {}),
    ...(values['halt-at'] !== undefined ? { haltAt: countOrPercent('halt-at', values['halt-at']) } : {}),
    ...(values['canary-halt-at'] !== undefined
      ? { canaryHaltAt: countOrPercent('canary-halt-at', values['canary-halt-at']) }
      : {}),
    // The in-process CLI's actor; with --api the route takes its caller instead.
    requestedBy: cliActor(),
  });
}

/** Prints a rollout's plan: its waves (tenants and tolerance), the skipped tenants and the migrations. */
export function printPlan(plan: RolloutPlan): void {
  const inWaves = plan.waves.reduce((n, w) => n + w.tenants.length, 0);
  console.log(
    `Rollout of ${plan.blueprint} to v${plan.targetVersion}: ${plan.selected} selected, ${inWaves} in ${plan.waves.length} waves, ` +
      `${plan.skipped.length} skipped; ${plan.concurrency} at once within a wave`,
  );
  for (const [from, names] of Object.entries(plan.migrations))
    console.log(`  from v${from}: ${names.join(', ') || 'nothing to apply'}`);
  for (const w of plan.waves) {
    const ids = w.tenants.map((t) => t.tenantId);
    const shown =
      ids.length > 8 ? `${ids.slice(0, 8).join(', ')}, ... (${ids.length - 8} more)` : ids.join(', ');
    const halt =
      w.toleratedFailurePercentage === undefined
        ? `halts on more than ${w.toleratedFailureCount} failed`
        : `halts on more than ${w.toleratedFailurePercentage}% failed`;
    console.log(
      `  wave ${w.wave}${w.wave === 0 ? ' (canary)' : ''}: ${ids.length} tenants, ${halt}: ${shown}`,
    );
  }
  for (const s of plan.skipped) console.log(`  skipped ${s.tenantId}: ${s.reason}`);
}

/** `rollout start` and `rollout resume` end 0 when the rollout completed, paused or was cancelled. */
export function rolloutExitCode(status: string): number {
  return status === 'succeeded' || status === 'paused' || status === 'cancelled' ? 0 : 1;
}

export function printRollout(r: RolloutRecord): void {
  const counts = Object.entries(r.counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  console.log(
    `Rollout ${r.rolloutId} of ${r.blueprint} to v${r.targetVersion}: ${r.status} (${counts || 'no tenants'})`,
  );
  if (r.haltReason) console.log(`  halted: ${r.haltReason}`);
  if (r.pauseRequested) console.log('  pause requested: it pauses before its next wave');
  if (r.cancelRequested && r.status === 'running')
    console.log('  cancel requested: no further tenant starts');
}

/** One line of each wave's counts, as `--watch` shows them while they change. */
export function wavesLine(r: RolloutRecord): string {
  return r.waves
    .filter((w) => w.wave >= 0)
    .map(
      (w) =>
        `wave ${w.wave}: ${Object.entries(w.counts)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')}`,
    )
    .join(' | ');
}

/** `rollout status`: the rollout, each wave's counts, and every failed or skipped tenant with why. */
export function printRolloutStatus(r: RolloutRecord, tenants: readonly RolloutTenantRecord[]): void {
  printRollout(r);
  for (const w of r.waves)
    console.log(
      `  ${w.wave < 0 ? 'skipped at selection' : `wave ${w.wave}`}: ${Object.entries(w.counts)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}`,
    );
  for (const t of tenants)
    if (t.status === 'failed' || t.status === 'skipped')
      console.log(`  ${t.status} ${t.tenantId}: ${t.reason ?? JSON.stringify(t.error)}`);
}

export interface RolloutAction {
  readonly status: string;
  readonly pauseRequested: boolean;
  readonly cancelRequested: boolean;
}

export function printRolloutAction(rolloutId: string, result: RolloutAction): void {
  console.log(
    `Rollout ${rolloutId} is ${result.status}` +
      (result.pauseRequested ? ': it pauses before its next wave' : '') +
      (result.cancelRequested && result.status === 'running' ? ': no further tenant starts' : ''),
  );
}

type RemoteRollout = RolloutRecord & { tenants: RolloutTenantRecord[]; nextToken?: string };

/**
 * `tenantry --api <url> rollout plan|start|status|pause|resume|cancel ...`: the same commands and
 * output as in process, through the routes (POST /rollouts/plan, POST /rollouts, GET /rollouts/{id},
 * POST /rollouts/{id}/pause|resume|cancel). `start` and `resume` return once the rollout has
 * started, or follow it to its end with `--watch`. Exit codes: 0 done, 1 the API refused or the
 * rollout halted or failed, 2 bad usage.
 */
export async function remoteRollout(
  client: ApiClient,
  args: readonly string[],
  options: {
    /** Prints the API's refusal and answers the exit code. */
    readonly fail: (res: ApiResponse) => number;
    readonly pollMs?: number;
  },
): Promise<number> {
  const [sub, ...rest] = args;
  const { fail } = options;
  const follow = async (rolloutId: string): Promise<number> => {
    let shown = '';
    for (;;) {
      const res = await client.call<RemoteRollout>('GetRollout', {
        params: { rolloutId },
        query: { limit: 1 },
      });
      if (res.status !== 200) return fail(res);
      const line = wavesLine(res.body);
      if (line !== shown) console.log(`  ${line}`);
      shown = line;
      if (res.body.status !== 'running') {
        printRollout(res.body);
        return rolloutExitCode(res.body.status);
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
  };
  switch (sub) {
    case 'plan':
    case 'start': {
      const { values, positionals } = parseArgs({
        args: [...rest],
        allowPositionals: true,
        options: { ...ROLLOUT_OPTIONS, plan: { type: 'boolean' }, watch: { type: 'boolean' } },
      });
      if (positionals.length > 0)
        throw new UsageError(`rollout ${sub} takes no positional arguments: ${positionals.join(' ')}`);
      const { plan: dryRun, watch, ...flags } = values;
      // The actor is the caller the API authenticates, not a field of the body.
      const { requestedBy: _by, ...body } = rolloutRequest(flags);
      if (sub === 'plan' || dryRun) {
        const res = await client.call<RolloutPlan>('PlanRollout', { body });
        if (res.status !== 200) return fail(res);
        printPlan(res.body);
        return 0;
      }
      const res = await client.call<{ rolloutId: string; executionName: string; started: boolean }>(
        'StartRollout',
        { body },
      );
      if (res.status !== 202) return fail(res);
      console.log(
        `Rollout ${res.body.rolloutId} of ${body.blueprint}\n  execution ${res.body.executionName}` +
          (res.body.started ? '' : ' (already started: not starting another)'),
      );
      return watch ? follow(res.body.rolloutId) : 0;
    }
    case 'status':
    case 'pause':
    case 'resume':
    case 'cancel': {
      const { values, positionals } = parseArgs({
        args: [...rest],
        allowPositionals: true,
        options: { watch: { type: 'boolean' } },
      });
      const [rolloutId, ...extra] = positionals;
      if (!rolloutId || extra.length > 0) throw new UsageError(`rollout ${sub} takes exactly one rollout id`);
      if (sub === 'status') {
        const tenants: RolloutTenantRecord[] = [];
        let page: RemoteRollout | undefined;
        let nextToken: string | undefined;
        do {
          const res: ApiResponse<RemoteRollout> = await client.call<RemoteRollout>('GetRollout', {
            params: { rolloutId },
            query: { limit: 500, nextToken },
          });
          if (res.status !== 200) return fail(res);
          page = res.body;
          tenants.push(...page.tenants);
          nextToken = page.nextToken;
        } while (nextToken);
        printRolloutStatus(page, tenants);
        return 0;
      }
      const id = sub === 'pause' ? 'PauseRollout' : sub === 'resume' ? 'ResumeRollout' : 'CancelRollout';
      const res = await client.call<RolloutAction & { executionName?: string }>(id, {
        params: { rolloutId },
      });
      if (res.status !== 200) return fail(res);
      if (sub !== 'resume') {
        printRolloutAction(rolloutId, res.body);
        return 0;
      }
      console.log(`Resuming ${rolloutId}: execution ${res.body.executionName}`);
      return values.watch ? follow(rolloutId) : 0;
    }
    default:
      throw new UsageError(
        `unknown rollout command '${sub ?? ''}' (rollout plan|start --blueprint <name> ..., rollout status|pause|resume|cancel <id>)`,
      );
  }
}
