import type { AuditQuery } from '../shared/api/schemas';
import { AuditQuerySchema } from '../shared/api/schemas';
import type { Reconciliation } from '../shared/reconcile/records';
import type { AuditEntry } from '../shared/registry/tenants';
import { parseOrThrow } from '../shared/validation';

/**
 * The operator's read-outs, in process and with --api: the audit trail and the reconciler's report.
 */

/** `tenantry audit [<tenant-id>] [--action a] [--since t] [--until t] [--limit n] [--next token]`, in process and with --api. */
export const AUDIT_OPTIONS = {
  action: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  /** The page after the one that printed `(more: --next <token>)`. */
  next: { type: 'string' },
} as const;

/** The query the flags make, validated like the route's (a bad flag is a 400 naming it, exit 2). */
export function auditQuery(values: { [K in keyof typeof AUDIT_OPTIONS]?: string }): AuditQuery {
  return parseOrThrow(AuditQuerySchema, {
    ...(values.action ? { action: values.action } : {}),
    ...(values.since ? { since: values.since } : {}),
    ...(values.until ? { until: values.until } : {}),
    ...(values.limit ? { limit: Number(values.limit) } : {}),
    ...(values.next ? { nextToken: values.next } : {}),
  });
}

/** One line per entry, newest first: when, whose, what, by whom, the run, the detail. */
export function printAudit(items: readonly AuditEntry[]): void {
  if (items.length === 0) console.log('no audit entries');
  for (const e of items) {
    const run = e.executionId ? `  ${e.executionId.split(':').at(-1)}` : '';
    const detail = Object.keys(e.detail).length > 0 ? `  ${JSON.stringify(e.detail)}` : '';
    console.log(`${e.at}  ${e.tenantId}  ${e.action}  by ${e.actor}${run}${detail}`);
  }
}

/**
 * A reconciliation: a summary line, then each finding and what the repair did. Exit code 0 when
 * nothing is left to a person (no findings, or every one repaired), 1 otherwise: a cron job can
 * alert on it.
 */
export function printReconciliation(r: Reconciliation): number {
  const counts = Object.entries(r.counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  console.log(
    `Reconciliation ${r.id} at ${r.finishedAt} (${r.repair ? 'repair' : 'report only'}, by ${r.actor}): ${counts || 'nothing found'}`,
  );
  for (const f of r.findings)
    console.log(
      `  ${f.kind.padEnd(19)} ${f.detail}${f.repaired ? `\n  ${''.padEnd(19)} repaired: ${f.repaired}` : ''}`,
    );
  return r.findings.every((f) => f.repaired) ? 0 : 1;
}
