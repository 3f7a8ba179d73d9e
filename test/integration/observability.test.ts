import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { StatsSchema } from '../../shared/api/responses';
import { TransientDatabaseError } from '../../shared/errors';
import { METRICS, METRICS_NAMESPACE, type MetricName } from '../../shared/observability/catalog';
import { onMetric } from '../../shared/observability/metrics';
import { hashPassword } from '../../shared/templates/password';
import { blueprintSandbox } from '../support/blueprints';
import { cli, embeddedCliFolder } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2, DOCEX_V3 } from '../support/migrating';
import { engineFor, provision, STEPS, TEMPLATE_STEPS } from '../support/provisioning';
import { runRollout } from '../support/rollouts';
import { suiteBackupDir } from '../support/temp-dirs';

/** One EMF document as CloudWatch reads it: the metric's definition and its values at the top. */
interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** Every EMF line emitted while `fn` runs, parsed, and every log line, parsed. */
async function observe<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; emf: Emf[]; lines: string[]; logs: Record<string, unknown>[] }> {
  const emf: Emf[] = [];
  const lines: string[] = [];
  const stop = onMetric((point) => {
    lines.push(point.emf);
    emf.push(JSON.parse(point.emf) as Emf);
  });
  const logged: string[] = [];
  const spy = vi
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(' ')));
  try {
    const result = await fn();
    return { result, emf, lines, logs: logged.map((l) => JSON.parse(l) as Record<string, unknown>) };
  } finally {
    stop();
    spy.mockRestore();
  }
}

/** The documents of one metric, as `{ dimensions, value }`, after checking each is the catalogue's. */
function points(emf: Emf[], name: MetricName): { dimensions: Record<string, unknown>; value: unknown }[] {
  const definition = METRICS[name];
  return emf
    .filter((d) => d._aws.CloudWatchMetrics[0]?.Metrics[0]?.Name === name)
    .map((d) => {
      const [directive] = d._aws.CloudWatchMetrics;
      expect(directive?.Namespace).toBe(METRICS_NAMESPACE);
      expect(directive?.Dimensions).toEqual([[...definition.dimensions]]);
      expect(directive?.Metrics).toEqual([{ Name: name, Unit: definition.unit }]);
      expect(typeof d._aws.Timestamp).toBe('number');
      return {
        dimensions: Object.fromEntries(definition.dimensions.map((k) => [k, d[k]])),
        value: d[name],
      };
    });
}

describe.each(testBackends())('Metrics and logs of the local engine on $name', (backend) => {
  suiteBackupDir('tenantry-observability-');
  let t: TestDatabase;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  const env = { level: process.env.TENANTRY_LOG_LEVEL, format: process.env.TENANTRY_LOG_FORMAT };
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => {
    await t?.close();
    sandbox.dispose();
  });
  beforeEach(() => {
    process.env.TENANTRY_LOG_LEVEL = 'debug';
    process.env.TENANTRY_LOG_FORMAT = 'json';
  });
  afterEach(() => {
    for (const [key, value] of [
      ['TENANTRY_LOG_LEVEL', env.level],
      ['TENANTRY_LOG_FORMAT', env.format],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('a provisioning from a template: its EMF lines, its log lines with the execution and tenant, no password hash', async () => {
    const passwordHash = await hashPassword('correct horse battery staple');
    const engine = engineFor(t.db, { blueprints: catalog });
    const { result, emf, lines, logs } = await observe(() =>
      provision(engine, 'obs-ok', undefined as unknown as string, {
        blueprint: undefined,
        template: 'Basic School System',
        adminUser: { email: 'admin@obs-ok.example', name: 'Ada Admin', passwordHash },
      }),
    );
    const { executionId, status } = result.record;
    expect(status).toBe('SUCCEEDED');

    expect(points(emf, 'TenantsProvisioned')).toEqual([
      { dimensions: { workflow: 'Provision', blueprint: 'school-erp' }, value: 1 },
    ]);
    const ran = [...STEPS, ...TEMPLATE_STEPS].sort();
    const durations = points(emf, 'StepDuration');
    expect(durations.map((p) => p.dimensions.step).sort()).toEqual(ran);
    for (const p of durations) {
      expect(p.dimensions.workflow).toBe('Provision');
      expect(p.value).toEqual(expect.any(Number));
    }
    const [duration] = points(emf, 'WorkflowDuration');
    expect(duration?.dimensions).toEqual({ workflow: 'Provision' });
    expect(duration?.value as number).toBeGreaterThanOrEqual(
      durations.reduce((a, p) => Math.max(a, p.value as number), 0),
    );
    expect(points(emf, 'StepFailed')).toEqual([]);
    expect(points(emf, 'StepRetried')).toEqual([]);
    // Dimensions stay bounded: no metric names the tenant or the execution.
    for (const line of lines) expect(line).not.toMatch(/obs-ok|execution:/);

    // A started and a succeeded line per step, each with the run's execution and tenant.
    const stepLines = logs.filter((l) => l.message === 'step started' || l.message === 'step succeeded');
    expect(stepLines).toHaveLength(ran.length * 2);
    for (const l of stepLines) {
      expect(l).toMatchObject({
        executionId,
        tenantId: 'obs-ok',
        workflow: 'Provision',
        service: 'tenantry',
      });
      expect(ran).toContain(l.step);
    }
    const all = JSON.stringify(logs);
    expect(all).not.toContain(passwordHash);
    expect(all).not.toContain(passwordHash.split('$').at(-1) as string);
  });

  it('a failed provisioning counts the failure with its step; a retried step counts the retry', async () => {
    const engine = engineFor(t.db, { blueprints: catalog });
    const failed = await observe(() => provision(engine, 'obs-ok', 'docex'));
    expect(failed.result.record.status).toBe('FAILED');
    expect(points(failed.emf, 'StepFailed')).toEqual([
      { dimensions: { workflow: 'Provision', step: 'Validate' }, value: 1 },
    ]);
    expect(points(failed.emf, 'WorkflowFailed')).toEqual([
      { dimensions: { workflow: 'Provision', step: 'Validate' }, value: 1 },
    ]);
    expect(points(failed.emf, 'TenantsProvisioned')).toEqual([]);
    const error = failed.logs.find((l) => l.message === 'step failed');
    expect(error).toMatchObject({
      level: 'ERROR',
      step: 'Validate',
      tenantId: 'obs-ok',
      executionId: failed.result.record.executionId,
      error: { name: 'TenantExistsError' },
    });

    // CreateSchema meets a transient fault twice; the workflow retries it, and each retry is counted.
    const flaky = engineFor(t.db, {
      blueprints: catalog,
      beforeTask: (state, attempt) => {
        if (state === 'CreateSchema' && attempt <= 2) throw new TransientDatabaseError('connection reset');
      },
    });
    const retried = await observe(() => provision(flaky, 'obs-retry', 'docex'));
    expect(retried.result.record.status).toBe('SUCCEEDED');
    expect(points(retried.emf, 'StepRetried')).toEqual([
      { dimensions: { workflow: 'Provision', step: 'CreateSchema' }, value: 1 },
    ]);
    expect(retried.logs.find((l) => l.message === 'step started' && l.step === 'CreateSchema')).toMatchObject(
      {
        retryCount: 2,
        tenantId: 'obs-retry',
      },
    );
  });

  it('a rollout counts each migrated tenant, and a halted rollout counts the halt', async () => {
    const engine = engineFor(t.db, { blueprints: catalog });
    for (const id of ['obs-r1', 'obs-r2', 'obs-r3'])
      expect((await provision(engine, id, 'docex')).record.status).toBe('SUCCEEDED');
    await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
    const done = await observe(() =>
      runRollout(engine, 'obs-v2', {
        blueprint: 'docex',
        selector: { tenantIds: ['obs-r1', 'obs-r2', 'obs-r3'] },
      }),
    );
    expect(done.result.status, String(done.result.cause)).toBe('SUCCEEDED');
    expect(points(done.emf, 'TenantsMigrated')).toEqual(
      [1, 2, 3].map(() => ({ dimensions: { workflow: 'Migrate', blueprint: 'docex' }, value: 1 })),
    );
    expect(
      points(done.emf, 'WorkflowDuration')
        .map((p) => p.dimensions.workflow)
        .sort(),
    ).toEqual(['Migrate', 'Migrate', 'Migrate', 'Rollout']);
    expect(points(done.emf, 'RolloutHalted')).toEqual([]);
    const rolloutLines = done.logs.filter((l) => l.workflow === 'Rollout' && l.message === 'step started');
    expect(rolloutLines.length).toBeGreaterThan(0);
    for (const l of rolloutLines) expect(l).toMatchObject({ rolloutId: 'obs-v2' });

    // v3 cannot take obs-r2's data: the first wave fails and the rollout halts.
    await addDocexVersion(t.db, sandbox, catalog, '0003_unique_names.sql', DOCEX_V3);
    await t.db.query(
      `INSERT INTO tenant_obs_r2.processors (code, name, operation_type) VALUES ('twin_a', 'Twin', 'x'), ('twin_b', 'Twin', 'x')`,
    );
    const halted = await observe(() =>
      runRollout(engine, 'obs-v3', {
        blueprint: 'docex',
        selector: { tenantIds: ['obs-r2'] },
        haltAt: { count: 0 },
      }),
    );
    expect(halted.result.error, String(halted.result.cause)).toBe('RolloutHalted');
    expect(points(halted.emf, 'RolloutHalted')).toEqual([
      { dimensions: { workflow: 'Rollout', blueprint: 'docex' }, value: 1 },
    ]);
    expect(points(halted.emf, 'WorkflowFailed')).toEqual([
      { dimensions: { workflow: 'Migrate', step: 'ApplyMigrations' }, value: 1 },
    ]);
  });

  it('counts what the handlers emitted for GET /stats, across engines sharing the database', async () => {
    const counts = await engineFor(t.db).metrics.counts();
    const provisioned = counts.find(
      (c) => c.name === 'TenantsProvisioned' && c.dimensions.blueprint === 'docex',
    );
    // obs-retry, obs-r1..3, counted by the engines of the tests above.
    expect(provisioned).toMatchObject({ unit: 'Count', points: 4, total: 4 });
    expect(counts.find((c) => c.name === 'StepRetried')).toMatchObject({
      dimensions: { workflow: 'Provision', step: 'CreateSchema' },
      points: 1,
    });
  });
});

describe('tenantry stats', () => {
  embeddedCliFolder('tenantry-stats-');

  it('shows the metrics the runs of earlier commands emitted', async () => {
    expect((await cli('provision', 'stats-a', '--blueprint', 'docex')).code).toBe(0);
    // A run that fails in Validate: an admin user without a template that makes one.
    const failed = await cli(
      'provision',
      'stats-b',
      '--blueprint',
      'docex',
      '--admin-email',
      'ada@example.com',
    );
    expect(failed.code).toBe(1);
    const { code, out } = await cli('stats');
    expect(code).toBe(0);
    const stats = StatsSchema.parse(JSON.parse(out));
    expect(stats.metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'TenantsProvisioned',
          dimensions: { workflow: 'Provision', blueprint: 'docex' },
          points: 1,
          total: 1,
        }),
        expect.objectContaining({
          name: 'WorkflowFailed',
          dimensions: { workflow: 'Provision', step: 'Validate' },
          points: 1,
        }),
      ]),
    );
    const steps = stats.metrics?.filter((m) => m.name === 'StepDuration' && m.dimensions.step === 'Validate');
    expect(steps?.[0]?.points).toBe(2);
  });
});
