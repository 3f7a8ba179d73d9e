import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { toDatabaseError } from './errors';
import type {
  SqlClient,
  SqlExecutor,
  SqlParam,
  SqlResult,
  SqlRow,
  SqlTransaction,
  StatementFailure,
} from './port';
import { PG_OID, parseDate, parseInt8 } from './types';

type Queryable = Pick<PGlite, 'query' | 'exec'> | Transaction;

async function run<T extends SqlRow>(
  db: Queryable,
  sql: string,
  params?: readonly SqlParam[],
): Promise<SqlResult<T>> {
  try {
    const result = await db.query<T>(sql, params ? [...params] : undefined);
    return { rows: result.rows, rowCount: result.rows.length || (result.affectedRows ?? 0) };
  } catch (error) {
    throw toDatabaseError(error);
  }
}

function transactionOf(tx: Transaction): SqlTransaction {
  let savepoints = 0;
  return {
    query: (sql, params) => run(tx, sql, params),
    async script(statements) {
      if (statements.length === 0) return;
      try {
        await tx.exec(statements.join(';\n'));
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
    async scriptTolerant(statements) {
      const failures: StatementFailure[] = [];
      for (const [index, statement] of statements.entries()) {
        const sp = `tenantry_sp_${++savepoints}`;
        await run(tx, `SAVEPOINT ${sp}`);
        try {
          await tx.exec(statement);
          await run(tx, `RELEASE SAVEPOINT ${sp}`);
        } catch (error) {
          await run(tx, `ROLLBACK TO SAVEPOINT ${sp}`);
          const mapped = toDatabaseError(error);
          failures.push({ index, code: mapped.code, message: mapped.message });
        }
      }
      return failures;
    },
    async copyIn(statement, text) {
      // PGlite reads COPY data from the '/dev/blob' pseudo-file, given as the query's blob.
      const sql = statement.replace(/\bFROM\s+STDIN\s*$/i, "FROM '/dev/blob'");
      if (sql === statement) throw new Error('copyIn takes a COPY ... FROM STDIN statement');
      try {
        const result = await tx.query(sql, [], { blob: new Blob([text]) });
        return result.affectedRows ?? 0;
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
    async copyOut(statement) {
      // ... and writes COPY TO data to '/dev/blob', handed back as the result's blob.
      const sql = statement.replace(/\bTO\s+STDOUT\s*$/i, "TO '/dev/blob'");
      if (sql === statement) throw new Error('copyOut takes a COPY ... TO STDOUT statement');
      try {
        const result = await tx.query(sql);
        return result.blob ? await result.blob.text() : '';
      } catch (error) {
        throw toDatabaseError(error);
      }
    },
  };
}

export interface PgliteClientOptions {
  /** Folder for the data; omitted means in memory (tests). */
  readonly dataDir?: string;
}

/**
 * One session in one process needs little shared memory: initdb's defaults (128 MB of shared
 * buffers, 100 connections) make every start allocate and clear it, about a tenth of the time it
 * takes to open a data folder (bench/results/README.md, "CLI start").
 */
const EMBEDDED_SETTINGS = ['-c', 'shared_buffers=16MB', '-c', 'max_connections=4'];

/** The embedded default: Postgres compiled to WASM, one session, in this process. */
export class PgliteClient implements SqlClient {
  readonly backend = 'pglite' as const;
  private readonly db: PGlite;

  private constructor(db: PGlite) {
    this.db = db;
  }

  static async open(options: PgliteClientOptions = {}): Promise<PgliteClient> {
    if (options.dataDir) await seedDataDir(options.dataDir);
    const db = await PGlite.create({
      ...(options.dataDir ? { dataDir: options.dataDir } : { loadDataDir: await pristineDump() }),
      startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS],
      parsers: { [PG_OID.INT8]: parseInt8, [PG_OID.DATE]: parseDate },
    });
    return new PgliteClient(db);
  }

  query<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlParam[]): Promise<SqlResult<T>> {
    return run<T>(this.db, sql, params);
  }

  async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const thrownByFn = new WeakSet<object>();
    try {
      return await this.db.transaction(async (tx) => {
        try {
          return await fn(transactionOf(tx));
        } catch (error) {
          if (error instanceof Object) thrownByFn.add(error);
          throw error;
        }
      });
    } catch (error) {
      // The caller's own errors pass through unchanged; only the driver's are mapped.
      throw error instanceof Object && thrownByFn.has(error) ? error : toDatabaseError(error);
    }
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

export type { SqlExecutor };

/**
 * Where the pristine cluster image is kept: initdb in WASM takes seconds, copying its result
 * takes milliseconds. `TENANTRY_CACHE_DIR`, else `$XDG_CACHE_HOME/tenantry`, else `~/.cache/tenantry`.
 */
export function clusterImageDir(env: NodeJS.ProcessEnv = process.env): string {
  // The image is PGlite's own initdb: one per PGlite version (its package.json is not exported).
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pglite = (
    JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  const root = env.TENANTRY_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tenantry');
  return join(root, `pglite-${pglite}-postgres-only`);
}

/**
 * The image keeps only the database PGlite opens, `postgres`. template0 and template1 are what
 * CREATE DATABASE copies, which one embedded session never runs, and they were 600 of a fresh
 * cluster's 971 files: every new data folder is a copy of the image, and on a slow disk a copy
 * costs about a millisecond a file (bench/results/README.md, "Start-up").
 */
async function dropTemplateDatabases(db: PGlite): Promise<void> {
  await db.query("UPDATE pg_database SET datistemplate = false WHERE datname IN ('template0', 'template1')");
  // DROP DATABASE runs outside a transaction block: one statement per query.
  await db.query('DROP DATABASE template0');
  await db.query('DROP DATABASE template1');
  await db.query('CHECKPOINT');
}

/** The image, made by its first user on this machine: a freshly initialised cluster (initdb in WASM). */
async function pristineImage(): Promise<string> {
  const image = clusterImageDir();
  if (!existsSync(join(image, 'PG_VERSION'))) {
    mkdirSync(join(image, '..'), { recursive: true });
    const building = mkdtempSync(`${image}.building-`);
    try {
      const pristine = await PGlite.create({ dataDir: building });
      try {
        await dropTemplateDatabases(pristine);
      } finally {
        await pristine.close();
      }
      try {
        renameSync(building, image);
      } catch {
        // Another process made it meanwhile: either copy is a pristine cluster.
      }
    } finally {
      rmSync(building, { recursive: true, force: true });
    }
  }
  return image;
}

/**
 * A new data folder starts as a copy of the image (nothing of Tenantry's in it); a folder that
 * holds a cluster is left alone.
 */
async function seedDataDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) return; // not ours to fill: PGlite decides
  const image = await pristineImage();
  mkdirSync(dataDir, { recursive: true });
  cpSync(image, dataDir, { recursive: true });
}

let pristineTar: Promise<Blob> | undefined;

/**
 * The image as PGlite's own dump (a tar beside it, made once per machine), which an in-memory
 * cluster loads instead of running initdb: a quarter of a second instead of two on this machine,
 * for each of the many clusters the tests open. Read once per process.
 */
function pristineDump(): Promise<Blob> {
  pristineTar ??= (async () => {
    const image = await pristineImage();
    const tar = `${image}.tar`;
    if (!existsSync(tar)) {
      // Dumped from a copy: opening a cluster writes to it, and the image stays as initdb left it.
      const scratch = mkdtempSync(`${image}.dumping-`);
      try {
        const copy = join(scratch, 'pgdata');
        cpSync(image, copy, { recursive: true });
        const db = await PGlite.create({ dataDir: copy });
        let dump: Blob;
        try {
          dump = await db.dumpDataDir('none');
        } finally {
          await db.close();
        }
        const part = join(scratch, 'image.tar');
        writeFileSync(part, new Uint8Array(await dump.arrayBuffer()));
        try {
          renameSync(part, tar);
        } catch {
          // Another process made it meanwhile: either is the same cluster.
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    }
    return new Blob([readFileSync(tar)]);
  })();
  pristineTar.catch(() => {
    pristineTar = undefined;
  });
  return pristineTar;
}
