/**
 * The control schema `tenantry` as SQL files, read from one folder (`shared/registry/sql/` in the
 * source tree, `<bundle>/sql/` inside a Lambda bundle):
 *
 * - `migrations/NNNN_name.sql`: DDL (tables, indexes, triggers and their trigger functions, data),
 *   applied once each in version order and recorded with its checksum. A released migration never
 *   changes: a database that recorded another checksum refuses the build (ControlMigrationChangedError).
 * - `functions/<name>.sql`: exactly one `CREATE OR REPLACE FUNCTION tenantry.<name>(...)` each, the
 *   function's current definition, re-applied whenever its checksum differs from the one recorded.
 *   Changing a control function is editing its file and, in `functions.lock.json`, raising `release`
 *   and recording the file's new checksum (test/integration/control-functions.test.ts holds the lock
 *   to the files). The database records the release that applied each function, and a build never
 *   replaces functions of a later release: an older container starting during a rolling deploy
 *   cannot put its functions back. (A change of a function's arguments or result type needs a
 *   migration that drops the old one first: CREATE OR REPLACE cannot change those.)
 * - generated SQL: what is derived from a TypeScript definition, today the registry's status CHECK
 *   from the tenant lifecycle (registry/lifecycle.ts). It is released and re-applied exactly like a
 *   function file, under its own name in `functions.lock.json`, so adding a status is one entry in
 *   the lifecycle (and a raised release), never a hand-written migration.
 * - `local/NNNN_name.sql`: the local engine's execution store, a migration set of its own that only
 *   the local engine applies (ensureLocalStore); Aurora never gets these tables.
 *
 * Errors the functions raise carry Tenantry SQLSTATEs (class TY), mapped to typed errors by
 * registry/control.ts from ERROR_CATALOGUE:
 *   TY001 another execution owns the tenant   TY002 applied migration changed or missing
 *   TY003 tenant exists / not provisionable   TY004 schema name taken by another tenant
 *   TY005 no such template version            TY006 no such tenant
 *   TY007 tenant in the wrong state for this   TY008 tenant already scheduled for deletion
 *   TY010 domain held by another tenant (DETAIL: the request's field naming it)
 *   TY900 write to an append-only or immutable table
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../blueprint';
import { ConfigError } from '../errors';
import { tenantStatusCheckSql } from './lifecycle';

export interface ControlSqlFile {
  /** The file's path relative to the SQL folder, e.g. `migrations/0003_templates.sql`. */
  readonly file: string;
  /** The migration's name, or the function's. */
  readonly name: string;
  /** sha256 of the text with CRLF read as LF, as blueprint migrations are summed. */
  readonly checksum: string;
  readonly sql: string;
}

export interface ControlMigrationFile extends ControlSqlFile {
  readonly version: number;
}

export interface ControlSql {
  readonly dir: string;
  readonly migrations: readonly ControlMigrationFile[];
  readonly functions: readonly ControlSqlFile[];
  /** `functions.lock.json`: the functions' release, raised with every change to a function file. */
  readonly functionsRelease: number;
  /** The checksum of each function file as released, from the same lock. */
  readonly functionsLock: Readonly<Record<string, string>>;
  /**
   * SQL generated from a TypeScript definition (the registry's status CHECK from the tenant
   * lifecycle), applied and released like a function file: re-applied when its text changes.
   */
  readonly generated: readonly ControlSqlFile[];
  /** The local engine's execution store. */
  readonly local: readonly ControlMigrationFile[];
}

/** Where the SQL lives: beside this file in the source tree, `./sql/` beside a Lambda bundle. */
export function defaultControlSqlDir(): string {
  return process.env.TENANTRY_CONTROL_SQL_DIR ?? fileURLToPath(new URL('./sql/', import.meta.url));
}

const MIGRATION_FILE = /^(\d{4})_([a-z][a-z0-9_]*)\.sql$/;
const FUNCTION_FILE = /^([a-z][a-z0-9_]*)\.sql$/;

function sqlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
}

function readMigrations(root: string, folder: string): ControlMigrationFile[] {
  const seen = new Set<number>();
  return sqlFiles(join(root, folder)).map((name) => {
    const match = MIGRATION_FILE.exec(name);
    if (!match) throw new ConfigError(`control migration ${folder}/${name} is not named NNNN_name.sql`);
    const version = Number(match[1]);
    if (version < 1 || seen.has(version))
      throw new ConfigError(`control migration ${folder}/${name}: version ${version} is used twice or is 0`);
    seen.add(version);
    const sql = readFileSync(join(root, folder, name), 'utf8');
    return { file: `${folder}/${name}`, name: match[2] as string, version, checksum: sha256(sql), sql };
  });
}

function readFunctions(root: string): ControlSqlFile[] {
  return sqlFiles(join(root, 'functions')).map((name) => {
    const match = FUNCTION_FILE.exec(name);
    const file = `functions/${name}`;
    if (!match) throw new ConfigError(`control function file ${file} is not named <function>.sql`);
    const fn = match[1] as string;
    const sql = readFileSync(join(root, 'functions', name), 'utf8');
    const creates = [...sql.matchAll(/\bCREATE\s+(OR\s+REPLACE\s+)?FUNCTION\s+([a-z_.]+)\s*\(/gi)];
    if (creates.length !== 1 || !creates[0]?.[1] || creates[0][2] !== `tenantry.${fn}`)
      throw new ConfigError(
        `control function file ${file} must hold exactly one CREATE OR REPLACE FUNCTION tenantry.${fn}(...)`,
      );
    return { file, name: fn, checksum: sha256(sql), sql };
  });
}

function readLock(root: string): { release: number; checksums: Record<string, string> } {
  const path = join(root, 'functions.lock.json');
  try {
    const lock = JSON.parse(readFileSync(path, 'utf8')) as { release?: unknown; checksums?: unknown };
    if (Number.isInteger(lock.release) && (lock.release as number) > 0 && typeof lock.checksums === 'object')
      return lock as { release: number; checksums: Record<string, string> };
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  throw new ConfigError(`${path} must be { "release": <positive integer>, "checksums": { ... } }`);
}

/** What the control schema derives from TypeScript definitions rather than a file. */
export function generatedControlSql(statusCheck: string = tenantStatusCheckSql()): ControlSqlFile[] {
  return [
    {
      file: 'generated: tenantStatusCheckSql() in registry/lifecycle.ts',
      name: 'tenants_status_check',
      checksum: sha256(statusCheck),
      sql: statusCheck,
    },
  ];
}

const loaded = new Map<string, ControlSql>();

/** Reads (once per folder and process) and checks the control SQL. */
export function loadControlSql(dir: string = defaultControlSqlDir()): ControlSql {
  let sql = loaded.get(dir);
  if (!sql) {
    const migrations = readMigrations(dir, 'migrations');
    if (migrations.length === 0) throw new ConfigError(`no control migrations in ${join(dir, 'migrations')}`);
    const lock = readLock(dir);
    sql = {
      dir,
      migrations,
      functions: readFunctions(dir),
      generated: generatedControlSql(),
      functionsRelease: lock.release,
      functionsLock: lock.checksums,
      local: readMigrations(dir, 'local'),
    };
    loaded.set(dir, sql);
  }
  return sql;
}

/** Whether a SQL text has anything to run besides comments (a migration may be only a note). */
export function hasStatements(sql: string): boolean {
  return sql.replace(/--[^\n]*/g, '').trim() !== '';
}
