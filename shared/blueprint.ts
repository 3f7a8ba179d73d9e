import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { BlueprintError, ValidationError } from './errors';
import { assertIdentifier } from './identifiers';
import { codeOnly, splitSqlStatements } from './sql/split';

/**
 * A blueprint is a folder: `blueprint.json`, `migrations/NNNN_slug.sql` (ordered, checksummed),
 * `indexes.sql` (secondary indexes, one CREATE INDEX IF NOT EXISTS each), `seed.json` (rows per
 * table in FK order) and `blueprint.lock.json` (the catalog each version must produce, written by
 * `tenantry blueprint lock`). Its version is the number of its newest migration.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly sql: string;
}

export interface IndexDefinition {
  readonly name: string;
  readonly table: string;
  readonly sql: string;
}

export interface SeedTable {
  readonly table: string;
  readonly rows: readonly Record<string, unknown>[];
}

export interface BlueprintLockVersion {
  readonly fingerprint: string;
  readonly migrations: Readonly<Record<string, string>>;
  readonly objects: readonly string[];
}

export interface Blueprint {
  readonly name: string;
  readonly description: string;
  readonly auditTables: readonly string[];
  /** The SECURITY DEFINER routines the blueprint declares deliberately, as name(identity arguments). */
  readonly securityDefiner: readonly string[];
  readonly version: number;
  readonly dir: string;
  readonly migrations: readonly Migration[];
  readonly indexes: readonly IndexDefinition[];
  readonly seed: readonly SeedTable[];
  readonly lock: Readonly<Record<string, BlueprintLockVersion>>;
}

export const BLUEPRINT_NAME_PATTERN = /^[a-z][a-z0-9-]{1,40}$/;
const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const INDEX_STATEMENT =
  /^CREATE\s+INDEX\s+IF\s+NOT\s+EXISTS\s+([a-z_][a-z0-9_]*)\s+ON\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)\b/i;
export const LOCK_FILE = 'blueprint.lock.json';

const ManifestSchema = z.object({
  name: z.string().regex(BLUEPRINT_NAME_PATTERN),
  description: z.string().min(1),
  /** The tenant's own audit tables: kept in the control schema when a deprovisioning asks for it. */
  auditTables: z.array(z.string()).default([]),
  /**
   * The SECURITY DEFINER functions and procedures the blueprint creates deliberately, each as
   * `name(identity arguments)` the way pg_get_function_identity_arguments prints them, e.g.
   * `secret_of(p_id integer)`. Any other SECURITY DEFINER routine is refused (secure_routines.sql).
   */
  securityDefiner: z
    .array(
      z
        .string()
        .regex(/^[a-z_][a-z0-9_$]*\(.*\)$/, 'must be name(identity arguments), e.g. secret_of(p_id integer)'),
    )
    .default([]),
});

const SeedSchema = z.object({
  tables: z.array(
    z.object({
      table: z.string().min(1),
      rows: z
        .array(z.record(z.string(), z.unknown()).refine((r) => Object.keys(r).length > 0, 'empty row'))
        .min(1),
    }),
  ),
});

const LockSchema = z.object({
  blueprint: z.string(),
  versions: z.record(
    z.string(),
    z.object({
      fingerprint: z.string(),
      migrations: z.record(z.string(), z.string()),
      objects: z.array(z.string()),
    }),
  ),
});

/** Statements a migration may not contain: the runner owns transactions, schemas and search_path. */
const FORBIDDEN: readonly [RegExp, string][] = [
  [
    /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|SAVEPOINT|RELEASE|END)\b/i,
    'transaction control (the runner wraps migrations in one transaction)',
  ],
  [/\bsearch_path\b/i, 'search_path changes (the runner sets the tenant schema)'],
  [/^\s*CREATE\s+SCHEMA\b/i, 'CREATE SCHEMA (the tenant schema is created by CreateSchema)'],
  [/^\s*(CREATE|DROP)\s+EXTENSION\b/i, 'extensions (install them database-wide, not per tenant)'],
  [/\bCONCURRENTLY\b/i, 'CONCURRENTLY (cannot run inside a transaction)'],
  [/\bOWNER\s+TO\b/i, 'OWNER TO (roles differ between databases)'],
  [/^\s*(GRANT|REVOKE)\b/i, 'GRANT/REVOKE (roles differ between databases)'],
  [/\bpublic\s*\.\s*[a-z_"]/i, "a 'public.' schema qualifier (remove it: objects go to the tenant schema)"],
  [/^\s*\\/, 'psql meta-commands'],
];

export function sha256(text: string): string {
  return createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');
}

function checkStatements(file: string, sql: string): void {
  for (const stmt of splitSqlStatements(sql)) {
    const code = codeOnly(stmt.sql);
    // set_config names the setting in a literal, which codeOnly blanks: check the raw text too.
    if (/\bset_config\s*\(\s*'search_path'/i.test(stmt.sql)) {
      throw new BlueprintError(
        `${file} line ${stmt.line}: search_path changes (the runner sets the tenant schema) is not allowed in a blueprint`,
      );
    }
    for (const [pattern, what] of FORBIDDEN) {
      if (pattern.test(code)) {
        throw new BlueprintError(`${file} line ${stmt.line}: ${what} is not allowed in a blueprint`);
      }
    }
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new BlueprintError(`${path}: ${(error as Error).message}`, { cause: error });
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new BlueprintError(`${where}: ${detail}`);
  }
  return result.data;
}

export function loadBlueprintFrom(dir: string): Blueprint {
  const manifest = parseWith(
    ManifestSchema,
    readJson(join(dir, 'blueprint.json')),
    join(dir, 'blueprint.json'),
  );

  const migrationsDir = join(dir, 'migrations');
  const files = existsSync(migrationsDir)
    ? readdirSync(migrationsDir)
        .filter((f) => f.endsWith('.sql'))
        .sort()
    : [];
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match)
      throw new BlueprintError(`${manifest.name}: migration file '${file}' must be named NNNN_slug.sql`);
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) {
      throw new BlueprintError(`${manifest.name}: two migrations have version ${version}`);
    }
    const sql = readFileSync(join(migrationsDir, file), 'utf8');
    checkStatements(`${manifest.name}/migrations/${file}`, sql);
    migrations.push({ version, name: file, checksum: sha256(sql), sql });
  }
  if (migrations.length === 0)
    throw new BlueprintError(`${manifest.name}: no migrations in ${migrationsDir}`);

  const indexesPath = join(dir, 'indexes.sql');
  const indexes: IndexDefinition[] = [];
  if (existsSync(indexesPath)) {
    for (const stmt of splitSqlStatements(readFileSync(indexesPath, 'utf8'))) {
      const m = INDEX_STATEMENT.exec(stmt.sql);
      if (!m?.[1] || !m[2]) {
        throw new BlueprintError(
          `${manifest.name}/indexes.sql line ${stmt.line}: expected 'CREATE INDEX IF NOT EXISTS <name> ON <table> ...'`,
        );
      }
      checkStatements(`${manifest.name}/indexes.sql`, stmt.sql);
      if (indexes.some((i) => i.name === m[1])) {
        throw new BlueprintError(`${manifest.name}/indexes.sql: index ${m[1]} is defined twice`);
      }
      indexes.push({ name: m[1], table: m[2], sql: stmt.sql });
    }
  }

  const seedPath = join(dir, 'seed.json');
  const seed = existsSync(seedPath)
    ? parseWith(SeedSchema, readJson(seedPath), `${manifest.name}/seed.json`).tables
    : [];
  for (const t of seed) {
    assertIdentifier(t.table, `${manifest.name}/seed.json table`);
    for (const row of t.rows)
      for (const col of Object.keys(row))
        assertIdentifier(col, `${manifest.name}/seed.json ${t.table} column`);
  }

  for (const t of manifest.auditTables) assertIdentifier(t, `${manifest.name}/blueprint.json auditTables`);

  const lockPath = join(dir, LOCK_FILE);
  const lock = existsSync(lockPath)
    ? parseWith(LockSchema, readJson(lockPath), `${manifest.name}/${LOCK_FILE}`)
    : undefined;
  if (lock && lock.blueprint !== manifest.name) {
    throw new BlueprintError(`${manifest.name}/${LOCK_FILE} belongs to blueprint '${lock.blueprint}'`);
  }

  return {
    name: manifest.name,
    description: manifest.description,
    auditTables: manifest.auditTables,
    securityDefiner: manifest.securityDefiner,
    version: migrations.at(-1)?.version ?? 0,
    dir,
    migrations,
    indexes,
    seed,
    lock: lock?.versions ?? {},
  };
}

/** Where blueprints live: beside this file in the source tree, `./blueprints/` inside a Lambda bundle. */
export function defaultBlueprintsDir(): string {
  return process.env.TENANTRY_BLUEPRINTS_DIR ?? fileURLToPath(new URL('./blueprints/', import.meta.url));
}

export class BlueprintCatalog {
  private readonly cache = new Map<string, Blueprint>();
  constructor(readonly root: string = defaultBlueprintsDir()) {}

  names(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(this.root, d.name, 'blueprint.json')))
      .map((d) => d.name)
      .sort();
  }

  /** The named blueprint; a ValidationError for the `blueprint` field when there is no such one. */
  get(name: string): Blueprint {
    const cached = this.cache.get(name);
    if (cached) return cached;
    if (!BLUEPRINT_NAME_PATTERN.test(name) || !this.names().includes(name)) {
      throw new ValidationError([
        {
          field: 'blueprint',
          reason: `unknown blueprint '${name}'; available: ${this.names().join(', ') || 'none'}`,
        },
      ]);
    }
    const blueprint = loadBlueprintFrom(join(this.root, name));
    if (blueprint.name !== name) {
      throw new BlueprintError(`blueprint folder '${name}' declares name '${blueprint.name}'`);
    }
    this.cache.set(name, blueprint);
    return blueprint;
  }

  /** Forget cached blueprints (after `blueprint lock` rewrites a lock file). */
  reload(): void {
    this.cache.clear();
  }
}
