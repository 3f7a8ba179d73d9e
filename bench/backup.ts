/**
 * `npm run bench:backup -- --sizes 10000,100000,1000000 --repeats 3`: backs up and restores one
 * school-erp tenant of N rows on a Postgres server, Tenantry's way (exportSchema; a Provision with
 * `restore: true`) and pg_dump/pg_restore's way, interleaved in one run. See bench/README.md.
 */
import '../local/bin/node-version.mjs';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { LocalEngine } from '../local/engine';
import { exportSchema } from '../shared/backup/export';
import { resetBackupStore } from '../shared/blobs/connect';
import { LocalFolderStore } from '../shared/blobs/local';
import { quoteIdent } from '../shared/identifiers';
import type { StepProgress } from '../shared/progress';
import { dropLeftoverTenantRolesSql } from '../shared/registry/leftover-roles';
import type { SqlExecutor } from '../shared/sql/port';
import { PostgresClient } from '../shared/sql/postgres';
import { schemaNameFor } from '../shared/tenant-id';
import { DEPROVISION, PROVISION } from '../statemachine/workflows';
import { digests, fill, sameDigests, totalRows } from './backup-fill';
import {
  type BackupBenchResult,
  type BackupSizeResult,
  renderBackupSummary,
  writeBackupResults,
} from './backup-report';
import { commandLine, redact, urlOf } from './cli';
import { round, summarise } from './stats';

const BLUEPRINT = 'school-erp';
const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_SIZES = [10_000, 100_000, 1_000_000];
const WARMUP_ROWS = 1000;
/** Goals of issue 9: Tenantry within these multiples of pg_dump / pg_restore, per-row time flat within 1.2x. */
export const GOALS = { backupRatio: 2, restoreRatio: 2, flatness: 1.2 } as const;

process.env.TENANTRY_LOG_LEVEL ??= 'silent';

interface Options {
  readonly sizes: number[];
  readonly repeats: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: { sizes: { type: 'string' }, repeats: { type: 'string', short: 'r' } },
    strict: true,
  });
  const sizes = (values.sizes ?? DEFAULT_SIZES.join(',')).split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1000 || n > 50_000_000)) {
    throw new Error(`--sizes must be whole numbers from 1000 to 50000000, got '${values.sizes}'`);
  }
  const repeats = Number(values.repeats ?? '3');
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 50) {
    throw new Error(`--repeats must be a whole number from 1 to 50, got '${values.repeats}'`);
  }
  return { sizes: [...sizes].sort((a, b) => a - b), repeats };
}

/** Runs a client program (pg_dump, pg_restore) to the end; rejects with its stderr on failure. */
function run(program: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} exited with ${code}: ${stderr.trim().slice(0, 2000)}`));
    });
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
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

async function dirBytes(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.copy'))
      total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const stepMs = (steps: readonly StepProgress[], name: string) =>
  steps.find((s) => s.name === name)?.durationMs ?? Number.NaN;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { sizes, repeats } = parseOptions(argv);
  const serverUrl = process.env.DATABASE_URL || DEFAULT_URL;
  const dbName = `tenantry_bench_${process.pid}`;
  const restoreDb = `${dbName}_pgrestore`;
  const scratchUrl = urlOf(serverUrl, dbName);
  const restoreUrl = urlOf(serverUrl, restoreDb);

  const admin = new pg.Client({ connectionString: serverUrl, application_name: 'tenantry-bench' });
  await admin.connect();
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-bench-backup-'));
  const backupDir = join(dir, 'backups');
  process.env.TENANTRY_BACKUP_DIR = backupDir;
  resetBackupStore();
  let client: PostgresClient | undefined;
  let restoreClient: pg.Client | undefined;
  const rss = new RssSampler();
  try {
    const version = await admin.query<{ server_version: string }>('SHOW server_version');
    const serverVersion = version.rows[0]?.server_version ?? 'unknown';
    const pgDumpVersion = await new Promise<string>((resolve) => {
      const child = spawn('pg_dump', ['--version']);
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.on('close', () => resolve(out.trim()));
      child.on('error', () => resolve('unknown'));
    });
    await admin.query(`CREATE DATABASE ${quoteIdent(dbName)}`);
    await admin.query(`CREATE DATABASE ${quoteIdent(restoreDb)}`);
    console.error(
      `bench: scratch databases ${dbName}, ${restoreDb} on ${redact(serverUrl)}; sizes ${sizes.join(', ')}, ${repeats} repeats`,
    );
    client = new PostgresClient({ connectionString: scratchUrl, applicationName: 'tenantry-bench' });
    restoreClient = new pg.Client({ connectionString: restoreUrl, application_name: 'tenantry-bench' });
    await restoreClient.connect();
    const pgr = restoreClient;
    const db = client;
    const engine = new LocalEngine({ db });

    const measure = async (n: number, tenantId: string, repeats: number): Promise<BackupSizeResult> => {
      const schema = schemaNameFor(tenantId);
      const log = (msg: string) => console.error(`bench: [${n}] ${msg}`);

      const made = await (
        await engine.start(PROVISION, tenantId, {
          tenantId,
          displayName: tenantId,
          blueprint: BLUEPRINT,
          requestedBy: 'bench',
        })
      ).done;
      if (made.status !== 'SUCCEEDED')
        throw new Error(`provisioning ${tenantId} ended ${made.status}: ${made.cause}`);
      const fillMs = await timed(() => fill(db, schema, n));
      await db.query(`VACUUM ANALYZE`);
      const before = await digests(db, schema);
      const rows = totalRows(before);
      log(`filled ${rows} rows in ${round(fillMs / 1000)} s`);

      // Backup: exportSchema (+ manifest) and pg_dump -Fc, pg_dump -Fp, taking turns.
      const tenantryBackup: number[] = [];
      const pgDumpCustom: number[] = [];
      const pgDumpPlain: number[] = [];
      let backupBytes = 0;
      const dumpFile = join(dir, `${schema}.dump`);
      const plainFile = join(dir, `${schema}.sql`);
      for (let r = 0; r < repeats; r++) {
        const storeDir = join(dir, `export-${n}-${r}`);
        const store = new LocalFolderStore(storeDir);
        const prefix = `backups/${tenantId}/bench-${r}`;
        tenantryBackup.push(
          await timed(async () => {
            const result = await exportSchema(db, {
              schema,
              store,
              prefix,
              retention: 'expire',
              deadline: Number.MAX_SAFE_INTEGER,
            });
            if (!result.done) throw new Error('exportSchema stopped before the end with no deadline');
            await store.put(
              `${prefix}/manifest.json`,
              `${JSON.stringify({ tables: result.tables, sequences: result.sequences }, null, 2)}\n`,
              { contentType: 'application/json', retention: 'expire' },
            );
          }),
        );
        backupBytes = await dirBytes(storeDir);
        await rm(storeDir, { recursive: true, force: true });
        await rm(dumpFile, { force: true });
        pgDumpCustom.push(
          await timed(() => run('pg_dump', ['-Fc', '-n', schema, '-f', dumpFile, '-d', scratchUrl])),
        );
        await rm(plainFile, { force: true });
        pgDumpPlain.push(
          await timed(() => run('pg_dump', ['-Fp', '-n', schema, '-f', plainFile, '-d', scratchUrl])),
        );
        log(
          `backup ${r + 1}/${repeats}: tenantry ${round(tenantryBackup[r] ?? 0)} ms, pg_dump -Fc ${round(pgDumpCustom[r] ?? 0)} ms, -Fp ${round(pgDumpPlain[r] ?? 0)} ms`,
        );
      }
      const dumpBytes = (await stat(dumpFile)).size;
      const plainBytes = (await stat(plainFile)).size;
      await rm(plainFile, { force: true });

      // Restore: Deprovision (untimed; its Backup step's own time is kept) then Provision restore,
      // and pg_restore of the -Fc dump into an empty database, taking turns.
      const tenantryRestore: number[] = [];
      const restoreSteps: Record<string, number>[] = [];
      const deprovisionBackupStep: number[] = [];
      const pgRestore: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const gone = await (await engine.start(DEPROVISION, tenantId, { tenantId, requestedBy: 'bench' }))
          .done;
        if (gone.status !== 'SUCCEEDED')
          throw new Error(`deprovisioning ${tenantId} ended ${gone.status}: ${gone.cause}`);
        const goneSteps = (await engine.progress(DEPROVISION, gone.executionId)).steps;
        deprovisionBackupStep.push(stepMs(goneSteps, 'Backup'));

        const t0 = performance.now();
        const back = await (
          await engine.start(PROVISION, tenantId, { tenantId, restore: true, requestedBy: 'bench' })
        ).done;
        tenantryRestore.push(performance.now() - t0);
        if (back.status !== 'SUCCEEDED')
          throw new Error(`restoring ${tenantId} ended ${back.status}: ${back.cause}`);
        const steps = (await engine.progress(PROVISION, back.executionId)).steps;
        restoreSteps.push(
          Object.fromEntries(
            steps.filter((s) => s.durationMs !== undefined).map((s) => [s.name, s.durationMs as number]),
          ),
        );
        if (r === 0) sameDigests(`the Tenantry restore of ${tenantId}`, before, await digests(db, schema));
        await rm(join(backupDir, 'backups', tenantId), { recursive: true, force: true });

        await pgr.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
        pgRestore.push(await timed(() => run('pg_restore', ['--exit-on-error', '-d', restoreUrl, dumpFile])));
        if (r === 0) {
          const restored = await digests(
            {
              query: (sql, params) => pgr.query(sql, params as unknown[]),
            } as SqlExecutor,
            schema,
          );
          sameDigests(`the pg_restore of ${schema}`, before, restored);
        }
        log(
          `restore ${r + 1}/${repeats}: tenantry ${round(tenantryRestore[r] ?? 0)} ms (RestoreRows ${restoreSteps[r]?.RestoreRows} ms), pg_restore ${round(pgRestore[r] ?? 0)} ms`,
        );
      }
      await pgr.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await rm(dumpFile, { force: true });
      // The next size gets the server to itself: this tenant's rows go.
      await (await engine.start(DEPROVISION, tenantId, { tenantId, requestedBy: 'bench' })).done;
      await rm(join(backupDir, 'backups', tenantId), { recursive: true, force: true });

      const stepNames = Object.keys(restoreSteps[0] ?? {});
      return {
        n,
        rows,
        tables: Object.fromEntries(Object.entries(before).map(([t, d]) => [t, Number(d.split(' ')[0])])),
        fillMs: round(fillMs),
        bytes: { tenantryParts: backupBytes, pgDumpCustom: dumpBytes, pgDumpPlain: plainBytes },
        verified: true,
        backup: {
          tenantry: summarise(tenantryBackup),
          pgDumpCustom: summarise(pgDumpCustom),
          pgDumpPlain: summarise(pgDumpPlain),
          deprovisionBackupStep: summarise(deprovisionBackupStep),
        },
        restore: {
          tenantry: summarise(tenantryRestore),
          pgRestore: summarise(pgRestore),
          steps: Object.fromEntries(
            stepNames.map((name) => [name, summarise(restoreSteps.map((s) => s[name] ?? Number.NaN))]),
          ),
        },
        samplesMs: {
          tenantryBackup: tenantryBackup.map((v) => round(v)),
          pgDumpCustom: pgDumpCustom.map((v) => round(v)),
          pgDumpPlain: pgDumpPlain.map((v) => round(v)),
          deprovisionBackupStep,
          tenantryRestore: tenantryRestore.map((v) => round(v)),
          restoreSteps,
          pgRestore: pgRestore.map((v) => round(v)),
        },
      };
    };

    // Warm-up, not counted: handler imports, the control schema, the ASL, the clients' first start.
    const warm = await measure(WARMUP_ROWS, 'bench-warmup', 1);
    console.error(
      `bench: warm-up (${warm.rows} rows, not counted) backup ${warm.backup.tenantry.median} ms, restore ${warm.restore.tenantry.median} ms`,
    );
    const results: BackupSizeResult[] = [];
    for (const n of sizes) results.push(await measure(n, `bench-${n}`, repeats));
    rss.stop();

    const result: BackupBenchResult = {
      benchmark: 'backup',
      date: new Date().toISOString().slice(0, 10),
      command: commandLine('bench:backup', 'bench/backup.ts', argv),
      repeats,
      blueprint: BLUEPRINT,
      node: process.version,
      postgres: serverVersion,
      pgDump: pgDumpVersion,
      server: redact(serverUrl),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', platform: process.platform },
      goals: GOALS,
      peakRssMb: round(rss.peakMb),
      sizes: results,
    };
    const summary = renderBackupSummary(result);
    await writeBackupResults(result, summary);
    console.log(summary);
  } finally {
    rss.stop();
    await client?.close().catch(() => {});
    await restoreClient?.end().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    for (const name of [dbName, restoreDb]) {
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
