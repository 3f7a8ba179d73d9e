import middy from '@middy/core';
import { apiRuntime } from '../../shared/api/runtime';
import { powertools } from '../../shared/observability/lambda';
import { logger } from '../../shared/observability/logger';
import { reconcile } from '../../shared/reconcile/reconcile';
import { openAtInit } from '../../shared/runtime';

openAtInit();

/**
 * The scheduled reconciler (infra/constructs/reconciler.ts): EventBridge Scheduler invokes it at
 * its rate. It repairs what is safe unless TENANTRY_RECONCILE_REPAIR is `false`, records the run
 * (GET /reconciliation) and publishes ReconciliationFound when something was found.
 */
export const handler = middy<unknown, { id: string; counts: Record<string, number>; unrepaired: number }>()
  .use(powertools())
  .handler(async () => {
    const rt = await apiRuntime();
    const run = await reconcile(rt, {
      repair: process.env.TENANTRY_RECONCILE_REPAIR !== 'false',
      actor: 'reconciler',
    });
    const unrepaired = run.findings.filter((f) => !f.repaired).length;
    logger.info('reconciled', { reconciliationId: run.id, counts: run.counts, unrepaired });
    return { id: run.id, counts: run.counts, unrepaired };
  });
