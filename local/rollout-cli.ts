import type { RolloutRecord, RolloutTenantRecord } from '../shared/rollout/records';
import { type RolloutPlan, type RolloutRequest, RolloutRequestSchema } from '../shared/rollout/schemas';
import { parseOrThrow } from '../shared/validation';
import { cliActor, labelsFlag, UsageError, wholeNumber } from './usage';

/**
 * `tenantry rollout ...` (cli.ts): the request the flags make and how a rollout is shown.
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
