/**
 * `npm run bench -- --tenants 20`: provisions N tenants of school-erp on a Postgres server through
 * the local engine, and applies the same blueprint as one `psql --single-transaction` per tenant
 * (the floor), interleaved in one run. The result is the ratio median(engine) / median(floor).
 * See bench/README.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { LocalEngine } from '../local/engine';
import { BlueprintCatalog } from '../shared/blueprint';
import { readCatalog } from '../shared/catalog';
import { quoteIdent } from '../shared/identifiers';
import type { HistoryEvent } from '../shared/progress';
import { PostgresClient } from '../shared/sql/postgres';
import { schemaNameFor } from '../shared/tenant-id';
import { PROVISION } from '../statemachine/workflows';
import { stateMachineConstruction } from './diagnostics';
import { floorScript, runPsql } from './floor';
import { type EngineProfile, type EngineSample, engineProfile } from './profile';
import { type BenchResult, renderSummary, writeResults } from './report';
import { round, summarise } from './stats';
import { TimedClient } from './timed-client';

const BLUEPRINT = 'school-erp';
const GOAL_RATIO = 1.5;
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const PSQL_NOOP_SAMPLES = 5;

// The step handlers log every step at info level; that is noise here (and costs time on both paths' clock).
process.env.TENANTRY_LOG_LEVEL ??= 'silent';

type Path = 'engine' | 'floor';

function parseTenants(argv: readonly string[]): number {
  const { values } = parseArgs({
    args: [...argv],
    options: { tenants: { type: 'string', short: 'n' } },
    strict: true,
  });
  const raw = values.tenants ?? '20';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new Error(`--tenants must be a whole number from 1 to 10000, got '${raw}'`);
  }
  return n;
}

function commandLine(argv: readonly string[]): string {
  const args = argv.join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `npx tsx bench/run.ts${args ? ` ${args}` : ''}`;
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** Peak RSS of this process, per path, sampled on a timer and after each tenant. */
class RssSampler {
  readonly peakMb: Record<Path | 'overall', number> = { engine: 0, floor: 0, overall: 0 };
  current: Path | undefined;
  private readonly timer = setInterval(() => this.sample(), 20);

  constructor() {
    this.timer.unref();
  }

  sample(): void {
    const mb = process.memoryUsage().rss / 2 ** 20;
    this.peakMb.overall = Math.max(this.peakMb.overall, mb);
    if (this.current) this.peakMb[this.current] = Math.max(this.peakMb[this.current], mb);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const tenants = parseTenants(argv);
  const serverUrl = process.env.DATABASE_URL || DEFAULT_URL;
  const dbName = `tenantry_bench_${process.pid}`;
  const scratch = new URL(serverUrl);
  scratch.pathname = `/${dbName}`;
  const scratchUrl = scratch.toString();

  const admin = new pg.Client({ connectionString: serverUrl, application_name: 'tenantry-bench' });
  await admin.connect();
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-bench-'));
  let client: PostgresClient | undefined;
  try {
    const version = await admin.query<{ server_version: string }>('SHOW server_version');
    const serverVersion = version.rows[0]?.server_version ?? 'unknown';
    await admin.query(`CREATE DATABASE ${quoteIdent(dbName)}`);
    console.error(`bench: scratch database ${dbName} on ${redact(serverUrl)}, ${tenants} tenants per path`);

    client = new PostgresClient({ connectionString: scratchUrl, applicationName: 'tenantry-bench' });
    const db = new TimedClient(client);
    const engine = new LocalEngine({ db });
    const blueprint = new BlueprintCatalog().get(BLUEPRINT);
    const lock = blueprint.lock[String(blueprint.version)];
    if (!lock) throw new Error(`${BLUEPRINT} v${blueprint.version} has no lock`);
    const rss = new RssSampler();

    const provisionWithEngine = async (tenantId: string): Promise<EngineSample> => {
      db.take();
      const startedAt = Date.now();
      const t0 = performance.now();
      const run = await engine.start(PROVISION, tenantId, {
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
      const progress = await engine.progress(PROVISION, record.executionId);
      const history: HistoryEvent[] = await engine.history(record.executionId);
      db.take();
      return { tenantId, wallMs, startedAt, doneAt, steps: progress.steps, history, queries };
    };

    const applyFloor = async (tenantId: string): Promise<number> => {
      const file = join(dir, `${tenantId}.sql`);
      await writeFile(file, floorScript(blueprint, schemaNameFor(tenantId)));
      const t0 = performance.now();
      await runPsql(scratchUrl, file);
      return performance.now() - t0;
    };

    // Warm-up, not counted: ASL render, control schema install, handler imports, psql's first start.
    rss.current = 'engine';
    const warmEngine = await provisionWithEngine('bench-e-warm');
    rss.current = 'floor';
    const warmFloor = await applyFloor('bench-f-warm');
    // The floor must build what the engine builds: the same catalog as the blueprint's lock.
    const floorCatalog = await readCatalog(client, schemaNameFor('bench-f-warm'));
    if (floorCatalog.fingerprint !== lock.fingerprint) {
      throw new Error('the floor script does not produce the locked catalog of school-erp');
    }
    console.error(
      `bench: warm-up engine ${round(warmEngine.wallMs)} ms, floor ${round(warmFloor)} ms (not counted)`,
    );

    const engineSamples: EngineSample[] = [];
    const floorMs: number[] = [];
    for (let i = 1; i <= tenants; i++) {
      const suffix = String(i).padStart(4, '0');
      rss.current = 'engine';
      engineSamples.push(await provisionWithEngine(`bench-e-${suffix}`));
      rss.sample();
      rss.current = 'floor';
      floorMs.push(await applyFloor(`bench-f-${suffix}`));
      rss.sample();
      if (i % 10 === 0 || i === tenants) console.error(`bench: ${i}/${tenants}`);
    }
    rss.current = undefined;

    // What "one psql" costs before it does any work: process start, connect, disconnect.
    const noopMs: number[] = [];
    const noop = join(dir, 'noop.sql');
    await writeFile(noop, 'SELECT 1;\n');
    for (let i = 0; i < PSQL_NOOP_SAMPLES; i++) {
      const t0 = performance.now();
      await runPsql(scratchUrl, noop);
      noopMs.push(performance.now() - t0);
    }
    rss.stop();
    const stateMachine = stateMachineConstruction();

    const engineSummary = summarise(engineSamples.map((s) => s.wallMs));
    const floorSummary = summarise(floorMs);
    const ratio = Math.round((engineSummary.median / floorSummary.median) * 100) / 100;
    const profile: EngineProfile = engineProfile(engineSamples);
    const retried = engineSamples.filter((s) => s.steps.some((step) => step.attempts > 1)).length;

    const result: BenchResult = {
      benchmark: 'provision',
      date: new Date().toISOString().slice(0, 10),
      command: commandLine(argv),
      tenants,
      warmupPerPath: 1,
      blueprint: { name: blueprint.name, version: blueprint.version },
      node: process.version,
      postgres: serverVersion,
      server: redact(serverUrl),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', platform: process.platform },
      engine: engineSummary,
      floor: floorSummary,
      ratio,
      goal: { maxRatio: GOAL_RATIO, met: ratio <= GOAL_RATIO },
      peakRssMb: {
        engine: round(rss.peakMb.engine),
        floor: round(rss.peakMb.floor),
        overall: round(rss.peakMb.overall),
      },
      psqlNoopMs: summarise(noopMs),
      enginePathRetries: retried,
      engineProfile: profile,
      stateMachineConstructMs: stateMachine,
      samplesMs: {
        engine: engineSamples.map((s) => round(s.wallMs)),
        floor: floorMs.map((ms) => round(ms)),
      },
    };
    const summary = renderSummary(result);
    await writeResults(result, summary);
    console.log(summary);
  } finally {
    await client?.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`).catch((error: Error) => {
      console.error(`bench: could not drop ${dbName}: ${error.message}`);
    });
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
