/**
 * `npm run bench [-- --tenants 20 --fleet 1000]`: provisions school-erp tenants on a Postgres server
 * three ways, interleaved in one run, in two scratch databases at once: one with no other tenant
 * and one that already holds a fleet of `--fleet` tenant schemas.
 *
 * - engine: the local engine's whole Provision workflow;
 * - floor: the same DDL, indexes and seed rows as ONE multi-statement query on an open connection;
 * - steps: the floor's SQL in Provision's transactions (schema, tables, indexes, seed), then Verify's
 *   catalog read: the least a workflow with these steps does, without its bookkeeping;
 * - psql: the same script through one `psql --single-transaction` per tenant.
 *
 * The results are the ratios median(engine) / median(floor) at 0 and at `--fleet` tenants, and how
 * the second compares with the first. See bench/README.md.
 */
import '../local/bin/node-version.mjs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { LocalEngine } from '../local/engine';
import { type Blueprint, BlueprintCatalog } from '../shared/blueprint';
import { readCatalog } from '../shared/catalog';
import { quoteIdent } from '../shared/identifiers';
import type { HistoryEvent } from '../shared/progress';
import { dropLeftoverTenantRolesSql } from '../shared/registry/leftover-roles';
import { PostgresClient } from '../shared/sql/postgres';
import { schemaNameFor } from '../shared/tenant-id';
import { PROVISION } from '../statemachine/workflows';
import { commandLine, redact, urlOf } from './cli';
import { cloneFleet, tenantSchemaCount } from './fleet';
import { applyFloorQuery, floorScript, floorSteps, runPsql } from './floor';
import { type EngineSample, engineProfile } from './profile';
import { type BenchResult, GOALS, type PhaseResult, renderSummary, writeResults } from './report';
import { round, summarise } from './stats';
import { TimedClient } from './timed-client';

const BLUEPRINT = 'school-erp';
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const PSQL_NOOP_SAMPLES = 5;

// The step handlers log every step at info level; that is noise here (and costs time on the clock).
process.env.TENANTRY_LOG_LEVEL ??= 'silent';

type Path = 'engine' | 'floor' | 'steps' | 'psql';
/** The steps path's parts: the step of Provision each one stands for (floorSteps, then the read). */
const STEPS_PARTS = ['CreateSchema', 'SyncTables', 'CreateIndexes', 'Seed', 'Verify'] as const;
const PATHS: readonly Path[] = ['engine', 'floor', 'steps', 'psql'];

interface Options {
  readonly tenants: number;
  readonly fleet: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: { tenants: { type: 'string', short: 'n' }, fleet: { type: 'string' } },
    strict: true,
  });
  const whole = (name: string, raw: string, min: number, max: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
    }
    return n;
  };
  return {
    tenants: whole('tenants', values.tenants ?? '20', 1, 10_000),
    fleet: whole('fleet', values.fleet ?? '1000', 0, 20_000),
  };
}

/** Peak RSS of this process, sampled on a timer. */
class RssSampler {
  peakMb = 0;
  private readonly timer = setInterval(() => this.sample(), 20);

  constructor() {
    this.timer.unref();
  }

  sample(): void {
    this.peakMb = Math.max(this.peakMb, process.memoryUsage().rss / 2 ** 20);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

/** One scratch database and the three ways of provisioning a tenant into it. */
class Phase {
  readonly engineSamples: EngineSample[] = [];
  readonly floorMs: number[] = [];
  readonly stepsMs: number[] = [];
  /** The steps path's parts, per counted tenant, in the order of STEPS_PARTS. */
  readonly stepsPartsMs: number[][] = [];
  readonly psqlMs: number[] = [];
  readonly client: PostgresClient;
  private readonly timed: TimedClient;
  private readonly engine: LocalEngine;
  /** The floor's connection, opened once: the floor pays no connect. */
  readonly conn: pg.Client;
  schemasAtStart = 0;

  constructor(
    readonly label: string,
    readonly existing: number,
    readonly url: string,
    private readonly blueprint: Blueprint,
    private readonly dir: string,
  ) {
    this.client = new PostgresClient({ connectionString: url, applicationName: 'tenantry-bench' });
    this.timed = new TimedClient(this.client);
    this.engine = new LocalEngine({ db: this.timed });
    this.conn = new pg.Client({ connectionString: url, application_name: 'tenantry-bench-floor' });
    this.conn.on('error', () => {});
  }

  tenantId(path: Path, n: string): string {
    return `b${this.existing}-${path[0]}-${n}`;
  }

  async engineRun(tenantId: string): Promise<EngineSample> {
    const db = this.timed;
    db.take();
    const startedAt = Date.now();
    const t0 = performance.now();
    const run = await this.engine.start(PROVISION, tenantId, {
      tenantId,
      displayName: tenantId,
      blueprint: BLUEPRINT,
      requestedBy: 'bench',
    });
    const record = await run.done;
    const wallMs = performance.now() - t0;
    const doneAt = Date.now();
    const queries = db.take();
    if (record.status !== 'SUCCEEDED') {
      throw new Error(
        `engine run for ${tenantId} ended ${record.status}: ${record.error ?? ''} ${record.cause ?? ''}`,
      );
    }
    const progress = await this.engine.progress(PROVISION, record.executionId);
    const history: HistoryEvent[] = await this.engine.history(record.executionId);
    db.take();
    return { tenantId, wallMs, startedAt, doneAt, steps: progress.steps, history, queries };
  }

  async floorRun(tenantId: string): Promise<number> {
    const script = floorScript(this.blueprint, schemaNameFor(tenantId));
    const t0 = performance.now();
    await applyFloorQuery(this.conn, script);
    return performance.now() - t0;
  }

  /**
   * The floor's SQL as Provision commits it, each transaction on the floor's open connection, then
   * the catalog read Verify makes (on a pooled connection, as Verify does), which must give the
   * lock's fingerprint.
   */
  async stepsRun(tenantId: string): Promise<{ ms: number; parts: number[] }> {
    const schema = schemaNameFor(tenantId);
    const scripts = floorSteps(this.blueprint, schema);
    const parts: number[] = [];
    const t0 = performance.now();
    let t = t0;
    const lap = () => {
      const now = performance.now();
      parts.push(now - t);
      t = now;
    };
    for (const script of scripts) {
      await applyFloorQuery(this.conn, script);
      lap();
    }
    const { fingerprint } = await readCatalog(this.client, schema);
    lap();
    const ms = performance.now() - t0;
    if (fingerprint !== this.blueprint.lock[String(this.blueprint.version)]?.fingerprint) {
      throw new Error(`the floor in steps did not produce the locked catalog for ${tenantId}`);
    }
    return { ms, parts };
  }

  async psqlRun(tenantId: string): Promise<number> {
    const file = join(this.dir, `${tenantId}.sql`);
    await writeFile(file, floorScript(this.blueprint, schemaNameFor(tenantId)));
    const t0 = performance.now();
    await runPsql(this.url, file);
    return performance.now() - t0;
  }

  async record(path: Path, n: string): Promise<void> {
    const id = this.tenantId(path, n);
    if (path === 'engine') this.engineSamples.push(await this.engineRun(id));
    else if (path === 'floor') this.floorMs.push(await this.floorRun(id));
    else if (path === 'steps') {
      const { ms, parts } = await this.stepsRun(id);
      this.stepsMs.push(ms);
      this.stepsPartsMs.push(parts);
    } else this.psqlMs.push(await this.psqlRun(id));
  }

  async result(): Promise<PhaseResult> {
    const engine = summarise(this.engineSamples.map((s) => s.wallMs));
    const floor = summarise(this.floorMs);
    const steps = summarise(this.stepsMs);
    const psql = summarise(this.psqlMs);
    const profile = engineProfile(this.engineSamples);
    const paired = this.engineSamples.map((s, i) => s.wallMs / (this.floorMs[i] ?? Number.NaN));
    const pairedSummary = summarise(paired.map((r) => r * 100));
    const verifyStep = profile.phases.find((p) => p.phase === 'step Verify')?.medianMs ?? 0;
    const verifyRead = profile.queries.find((q) => q.statement === 'catalog read (Verify)')?.medianMs ?? 0;
    const createIndexes = profile.phases.find((p) => p.phase === 'step CreateIndexes')?.medianMs ?? 0;
    return {
      existingSchemas: this.existing,
      schemasAtStart: this.schemasAtStart,
      schemasAtEnd: await tenantSchemaCount(this.conn),
      engine,
      floor,
      steps,
      psql,
      ratio: round(engine.median / floor.median, 2),
      stepsRatio: round(steps.median / floor.median, 2),
      stepsParts: Object.fromEntries(
        STEPS_PARTS.map((step, i) => [
          step,
          summarise(this.stepsPartsMs.map((p) => p[i] ?? Number.NaN)).median,
        ]),
      ),
      ratioToSteps: round(engine.median / steps.median, 2),
      ratioToPsql: round(engine.median / psql.median, 2),
      pairedRatio: {
        median: round(pairedSummary.median / 100, 2),
        p10: round(quantile(paired, 0.1), 2),
        p90: round(quantile(paired, 0.9), 2),
      },
      overFloorMs: round(engine.median - floor.median),
      verify: { stepMs: verifyStep, catalogReadMs: verifyRead },
      createIndexesStepMs: createIndexes,
      retriedRuns: this.engineSamples.filter((s) => s.steps.some((step) => step.attempts > 1)).length,
      engineProfile: profile,
      samplesMs: {
        engine: this.engineSamples.map((s) => round(s.wallMs)),
        floor: this.floorMs.map((ms) => round(ms)),
        steps: this.stepsMs.map((ms) => round(ms)),
        psql: this.psqlMs.map((ms) => round(ms)),
      },
    };
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => {});
    await this.client.close().catch(() => {});
  }
}

/** Linear-interpolated quantile, q in 0..1. */
function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] ?? Number.NaN) + ((s[hi] ?? Number.NaN) - (s[lo] ?? Number.NaN)) * (pos - lo);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const loadAtStart = loadavg().map((l) => round(l, 2));
  const options = parseOptions(argv);
  const serverUrl = process.env.DATABASE_URL || DEFAULT_URL;
  const blueprint = new BlueprintCatalog().get(BLUEPRINT);
  const lock = blueprint.lock[String(blueprint.version)];
  if (!lock) throw new Error(`${BLUEPRINT} v${blueprint.version} has no lock`);

  const admin = new pg.Client({ connectionString: serverUrl, application_name: 'tenantry-bench' });
  await admin.connect();
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-bench-'));
  const sizes = options.fleet > 0 ? [0, options.fleet] : [0];
  const dbNames = sizes.map((n) => `tenantry_bench_${process.pid}_${n}`);
  const phases: Phase[] = [];
  try {
    const version = await admin.query<{ server_version: string }>('SHOW server_version');
    const serverVersion = version.rows[0]?.server_version ?? 'unknown';
    for (const [i, size] of sizes.entries()) {
      const name = dbNames[i] ?? '';
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      const phase = new Phase(`${size}`, size, urlOf(serverUrl, name), blueprint, dir);
      phases.push(phase);
      await phase.conn.connect();
    }
    console.error(
      `bench: scratch databases ${dbNames.join(', ')} on ${redact(serverUrl)}; ` +
        `${options.tenants} rounds of engine, floor, steps and psql in each`,
    );

    const rss = new RssSampler();
    // Warm-up, not counted: ASL, control schema install, handler imports, psql's first start.
    for (const phase of phases) {
      const warm = {
        engine: (await phase.engineRun(phase.tenantId('engine', 'warm'))).wallMs,
        floor: await phase.floorRun(phase.tenantId('floor', 'warm')),
        steps: (await phase.stepsRun(phase.tenantId('steps', 'warm'))).ms,
        psql: await phase.psqlRun(phase.tenantId('psql', 'warm')),
      };
      console.error(
        `bench: warm-up in the ${phase.label}-tenant database: engine ${round(warm.engine)} ms, ` +
          `floor ${round(warm.floor)} ms, steps ${round(warm.steps)} ms, psql ${round(warm.psql)} ms (not counted)`,
      );
    }
    // The floor must build what the engine builds: the same catalog as the blueprint's lock.
    const first = phases[0];
    if (!first) throw new Error('no phase');
    const floorCatalog = await readCatalog(first.client, schemaNameFor(first.tenantId('floor', 'warm')));
    if (floorCatalog.fingerprint !== lock.fingerprint) {
      throw new Error(`the floor script does not produce the locked catalog of ${BLUEPRINT}`);
    }

    let fleetMs = 0;
    const fleetPhase = phases.find((p) => p.existing > 0);
    if (fleetPhase) {
      console.error(`bench: cloning ${fleetPhase.existing} tenants into ${dbNames[1]} ...`);
      fleetMs = await cloneFleet(fleetPhase.url, blueprint, fleetPhase.existing, (done) => {
        if (done % 100 === 0 || done === fleetPhase.existing) console.error(`bench: fleet ${done}`);
      });
      console.error(`bench: fleet of ${fleetPhase.existing} cloned in ${round(fleetMs / 1000)} s`);
    }
    for (const phase of phases) phase.schemasAtStart = await tenantSchemaCount(phase.conn);

    // Rounds: in each, every database gets one tenant by each path; the order of the databases and
    // of the paths turns every round so that machine noise and the order itself fall on all of them.
    for (let i = 1; i <= options.tenants; i++) {
      const n = String(i).padStart(4, '0');
      const order = i % 2 === 0 ? [...phases].reverse() : phases;
      for (const phase of order) {
        for (let k = 0; k < PATHS.length; k++) {
          const path = PATHS[(i + k) % PATHS.length] ?? 'engine';
          await phase.record(path, n);
        }
      }
      if (i % 5 === 0 || i === options.tenants) console.error(`bench: round ${i}/${options.tenants}`);
    }

    // What "one psql" costs before it does any work: process start, connect, disconnect.
    const noopMs: number[] = [];
    const noop = join(dir, 'noop.sql');
    await writeFile(noop, 'SELECT 1;\n');
    for (let i = 0; i < PSQL_NOOP_SAMPLES; i++) {
      const t0 = performance.now();
      await runPsql(first.url, noop);
      noopMs.push(performance.now() - t0);
    }
    rss.stop();

    const results = await Promise.all(phases.map((p) => p.result()));
    const [atZero, atFleet] = results;
    if (!atZero) throw new Error('no result');
    const growth = atFleet ? round(atFleet.ratio / atZero.ratio, 2) : undefined;
    const result: BenchResult = {
      benchmark: 'provision',
      date: new Date().toISOString().slice(0, 10),
      command: commandLine('bench', 'bench/run.ts', argv),
      tenants: options.tenants,
      fleet: options.fleet,
      fleetCloneMs: round(fleetMs),
      warmupPerPath: 1,
      blueprint: { name: blueprint.name, version: blueprint.version },
      node: process.version,
      postgres: serverVersion,
      server: redact(serverUrl),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        platform: process.platform,
      },
      phases: results,
      goals: {
        ratioAtZero: { max: GOALS.ratioAtZero, value: atZero.ratio, met: atZero.ratio <= GOALS.ratioAtZero },
        ...(growth === undefined
          ? {}
          : { fleetGrowth: { max: GOALS.fleetGrowth, value: growth, met: growth <= GOALS.fleetGrowth } }),
      },
      peakRssMb: round(rss.peakMb),
      psqlNoopMs: summarise(noopMs),
      loadAverage: { atStart: loadAtStart, atEnd: loadavg().map((l) => round(l, 2)) },
    };
    const summary = renderSummary(result);
    await writeResults(result, summary);
    console.log(summary);
  } finally {
    for (const phase of phases) await phase.close();
    await rm(dir, { recursive: true, force: true });
    for (const name of dbNames) {
      await admin
        .query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)
        .then(() => admin.query(dropLeftoverTenantRolesSql(name)))
        .catch((error: Error) => {
          console.error(`bench: could not drop ${name}: ${error.message}`);
        });
    }
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
