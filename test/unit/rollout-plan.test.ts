import { describe, expect, it } from 'vitest';
import { planWaves } from '../../shared/rollout/plan';
import { type PlannedTenant, RolloutRequestSchema } from '../../shared/rollout/schemas';

const tenants = (n: number): PlannedTenant[] =>
  Array.from({ length: n }, (_, i) => ({ tenantId: `t${String(i).padStart(3, '0')}`, fromVersion: 1 }));
const request = (extra: Record<string, unknown> = {}) =>
  RolloutRequestSchema.parse({ blueprint: 'docex', ...extra });
const sizes = (waves: ReturnType<typeof planWaves>) => waves.map((w) => w.tenants.length);

describe('planWaves', () => {
  it('defaults: a 5% canary that tolerates no failure, then doubling waves that tolerate 5%', () => {
    const waves = planWaves(tenants(50), request());
    expect(sizes(waves)).toEqual([3, 6, 12, 24, 5]);
    expect(waves[0]).toMatchObject({ wave: 0, toleratedFailureCount: 0 });
    expect(waves[0]?.toleratedFailurePercentage).toBeUndefined();
    expect(waves[3]).toMatchObject({ toleratedFailurePercentage: 5, toleratedFailureCount: 1 });
    // Every tenant once, in order.
    expect(waves.flatMap((w) => w.tenants.map((t) => t.tenantId))).toEqual(
      tenants(50).map((t) => t.tenantId),
    );
  });

  it('takes a canary count, a growth factor, explicit wave sizes (the last repeated) and thresholds', () => {
    expect(sizes(planWaves(tenants(50), request({ canary: { count: 5 }, growth: 3 })))).toEqual([5, 15, 30]);
    expect(sizes(planWaves(tenants(50), request({ canary: { count: 5 }, waveSizes: [10, 20] })))).toEqual([
      5, 10, 20, 15,
    ]);
    const w = planWaves(tenants(40), request({ canaryHaltAt: { count: 1 }, haltAt: { count: 2 } }));
    expect(w.map((x) => x.toleratedFailureCount)).toEqual([1, 2, 2, 2, 2]);
    // growth 1 still moves on: each wave at least one bigger than the one before.
    expect(sizes(planWaves(tenants(10), request({ canary: { count: 1 }, growth: 1 })))).toEqual([1, 2, 3, 4]);
  });

  it('puts named canary tenants first and refuses one it may not migrate', () => {
    const waves = planWaves(tenants(10), request({ canary: { tenants: ['t007', 't002'] } }));
    expect(waves[0]?.tenants.map((t) => t.tenantId)).toEqual(['t007', 't002']);
    expect(waves.slice(1).flatMap((w) => w.tenants.map((t) => t.tenantId))).not.toContain('t007');
    expect(() => planWaves(tenants(3), request({ canary: { tenants: ['t009'] } }))).toThrow(
      /canary.tenants: not among the tenants this rollout selects and may migrate: t009/,
    );
  });

  it('plans nothing for no tenants, and a canary percentage is at least one tenant', () => {
    expect(planWaves([], request())).toEqual([]);
    expect(sizes(planWaves(tenants(3), request({ canary: { percent: 1 } })))).toEqual([1, 2]);
  });

  it('refuses bad requests naming the field', () => {
    for (const [body, path] of [
      [{ canary: { count: 0 } }, 'canary'],
      [{ concurrency: 0 }, 'concurrency'],
      [{ haltAt: { percent: 101 } }, 'haltAt'],
      [{ selector: { tenantIds: ['Bad Id'] } }, 'selector'],
      [{ selector: { statuses: ['gone'] } }, 'selector'],
      [{ nope: 1 }, ''],
    ] as const) {
      const parsed = RolloutRequestSchema.safeParse({ blueprint: 'docex', ...body });
      expect(parsed.success, JSON.stringify(body)).toBe(false);
      if (path) expect(parsed.error?.issues[0]?.path[0]).toBe(path);
    }
  });
});
