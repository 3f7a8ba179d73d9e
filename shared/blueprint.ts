import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { BlueprintError, ValidationError } from './errors';
import { assertIdentifier } from './identifiers';
import { parseJsonExact } from './json';
import { codeOnly, type SqlToken, splitSqlStatements, tokenize } from './sql/split';
import { lazySchema } from './validation';

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

const ManifestSchema = lazySchema(() =>
  z.object({
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
          .regex(
            /^[a-z_][a-z0-9_$]*\(.*\)$/,
            'must be name(identity arguments), e.g. secret_of(p_id integer)',
          ),
      )
      .default([]),
  }),
);

const SeedSchema = lazySchema(() =>
  z.object({
    tables: z.array(
      z.object({
        table: z.string().min(1),
        rows: z
          .array(z.record(z.string(), z.unknown()).refine((r) => Object.keys(r).length > 0, 'empty row'))
          .min(1),
      }),
    ),
  }),
);

const LockSchema = lazySchema(() =>
  z.object({
    blueprint: z.string(),
    versions: z.record(
      z.string(),
      z.object({
        fingerprint: z.string(),
        migrations: z.record(z.string(), z.string()),
        objects: z.array(z.string()),
      }),
    ),
  }),
);

/** Statements a migration may not contain: the runner owns transactions, schemas and search_path. */
const FORBIDDEN: readonly [RegExp, string][] = [
  [
    /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|SAVEPOINT|RELEASE|END)\b/i,
    'transaction control (the runner wraps migrations in one transaction)',
  ],
  [/^\s*CREATE\s+SCHEMA\b/i, 'CREATE SCHEMA (the tenant schema is created by CreateSchema)'],
  [
    /^\s*(CREATE|DROP|ALTER|COMMENT\s+ON)\s+EXTENSION\b/i,
    'extensions (install them database-wide, not per tenant)',
  ],
  [/\bCONCURRENTLY\b/i, 'CONCURRENTLY (cannot run inside a transaction)'],
  [/\bOWNER\s+TO\b/i, 'OWNER TO (roles differ between databases)'],
  [/^\s*(GRANT|REVOKE)\b/i, 'GRANT/REVOKE (roles differ between databases)'],
  [/\bpublic\s*\.\s*[a-z_"]/i, "a 'public.' schema qualifier (remove it: objects go to the tenant schema)"],
  [/^\s*\\/, 'psql meta-commands'],
];

export function sha256(text: string): string {
  return createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');
}

const SEARCH_PATH_REASON =
  'search_path changes (the runner sets the tenant schema; to pin a function to its tenant schema, ' +
  'write SET search_path FROM CURRENT in its CREATE or ALTER FUNCTION)';

/** Casts whose literal names an object, resolved through search_path. */
const NAMING_CASTS = new Set([
  'regclass',
  'regproc',
  'regprocedure',
  'regoper',
  'regoperator',
  'regtype',
  'regconfig',
  'regdictionary',
  'regcollation',
]);
/** Functions whose first argument is a literal naming an object. */
const NAMING_FUNCTIONS = new Set([
  'nextval',
  'setval',
  'currval',
  'to_regclass',
  'to_regproc',
  'to_regprocedure',
  'to_regoper',
  'to_regoperator',
  'to_regtype',
  'to_regcollation',
  'pg_get_serial_sequence',
]);

/** Indexes of the string tokens that name an object: `'x'::regclass`, `nextval('x')`, ... */
export function namingLiterals(tokens: readonly SqlToken[]): number[] {
  const found: number[] = [];
  tokens.forEach((t, i) => {
    if (t.kind !== 'string' || (t.prefix !== '' && t.prefix !== 'E')) return;
    const cast = tokens[i + 1]?.value === '::' ? tokens[i + 2] : undefined;
    const call = tokens[i - 1]?.value === '(' ? tokens[i - 2] : undefined;
    if (
      (cast?.kind === 'ident' && NAMING_CASTS.has(cast.value)) ||
      (call?.kind === 'ident' && NAMING_FUNCTIONS.has(call.value))
    )
      found.push(i);
  });
  return found;
}

/** The schema a literal object name starts with (`public.x`, `"Public".x`), if any. */
export function literalQualifier(name: string): { schema: string; rest: string } | undefined {
  const m = /^\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))\s*\.\s*(.+)$/s.exec(name);
  if (!m?.[3]) return undefined;
  return { schema: m[1] !== undefined ? m[1].replaceAll('""', '"') : (m[2] ?? '').toLowerCase(), rest: m[3] };
}

/** The arguments of the call whose '(' is at `open`, as token slices (top level commas). */
export function callArguments(tokens: readonly SqlToken[], open: number): SqlToken[][] {
  const args: SqlToken[][] = [[]];
  let depth = 0;
  for (let k = open + 1; k < tokens.length; k++) {
    const t = tokens[k];
    if (!t) break;
    if (t.kind === 'op' && (t.value === '(' || t.value === '[')) depth++;
    if (t.kind === 'op' && (t.value === ')' || t.value === ']')) {
      if (depth === 0) return args;
      depth--;
    }
    if (depth === 0 && t.kind === 'op' && t.value === ',') args.push([]);
    else args.at(-1)?.push(t);
  }
  return args;
}

const ROUTINE_STATEMENT =
  /^\s*(CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)|ALTER\s+(FUNCTION|PROCEDURE|ROUTINE))\b/i;

/** What is wrong with each statement of a migration or indexes file: every problem, with its line. */
export function checkStatements(file: string, sql: string): string[] {
  const problems: string[] = [];
  for (const stmt of splitSqlStatements(sql)) {
    const at = `${file} line ${stmt.line}`;
    const code = codeOnly(stmt.sql);
    const tokens = tokenize(stmt.sql);
    const first = tokens[0]?.kind === 'ident' ? tokens[0].value : '';
    const second = tokens[1]?.kind === 'ident' ? tokens[1].value : '';
    const found = new Set<string>();
    const problem = (what: string) => {
      if (!found.has(what)) problems.push(`${at}: ${what} is not allowed in a blueprint`);
      found.add(what);
    };

    // search_path: only a routine's own SET search_path FROM CURRENT (it pins the routine to the
    // schema it is created in: the tenant's).
    const routine = ROUTINE_STATEMENT.test(code);
    tokens.forEach((t, i) => {
      if (t.kind === 'ident' && t.value === 'search_path') {
        const fromCurrent =
          routine &&
          tokens[i - 1]?.value === 'set' &&
          tokens[i + 1]?.value === 'from' &&
          tokens[i + 2]?.value === 'current';
        if (!fromCurrent) problem(SEARCH_PATH_REASON);
      }
      if (t.kind === 'ident' && t.value === 'set_config' && tokens[i + 1]?.value === '(') {
        const args = callArguments(tokens, i + 1);
        if (args[0]?.[0]?.kind === 'string' && args[0][0].value.toLowerCase() === 'search_path')
          problem(SEARCH_PATH_REASON);
        else if (!(args[2]?.length === 1 && args[2][0]?.value === 'true'))
          problem(
            'set_config(..., false) (a session setting outlives the transaction on a pooled connection: pass true)',
          );
      }
    });
    if (first === 'set' && second !== 'local' && second !== 'constraints' && !found.has(SEARCH_PATH_REASON))
      problem('a session SET (it outlives the transaction on a pooled connection: use SET LOCAL)');
    if (first === 'reset') problem('RESET (it changes the session: use SET LOCAL name TO DEFAULT)');

    for (const [pattern, what] of FORBIDDEN) if (pattern.test(code)) problem(what);

    for (const i of namingLiterals(tokens)) {
      const t = tokens[i];
      if (t && literalQualifier(t.value)?.schema === 'public')
        problem(
          `a 'public.' schema qualifier inside the literal ${t.text} (remove it: names resolve in the tenant schema)`,
        );
    }
  }
  return problems;
}

function readJson(path: string, exact = false): unknown {
  try {
    const text = readFileSync(path, 'utf8');
    return exact ? parseJsonExact(text) : JSON.parse(text);
  } catch (error) {
    throw new BlueprintError(`${path}: ${(error as Error).message}`, { cause: error });
  }
}

export { parseJsonExact };

function parseWith<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new BlueprintError(`${where}: ${detail}`);
  }
  return result.data;
}

/** Runs `fn`, turning a BlueprintError or ValidationError into one more problem on the list. */
function collect<T>(problems: string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (error instanceof BlueprintError && error.problems.length > 0) problems.push(...error.problems);
    else if (error instanceof BlueprintError) problems.push(error.message);
    else if (error instanceof ValidationError) problems.push(error.message);
    else throw error;
    return undefined;
  }
}

/**
 * Loads and checks a blueprint folder. Every problem found (each with its file, and its line where
 * it has one) comes back at once, in one BlueprintError whose `problems` lists them.
 */
export function loadBlueprintFrom(dir: string): Blueprint {
  const problems: string[] = [];
  const manifest = collect(problems, () =>
    parseWith(ManifestSchema, readJson(join(dir, 'blueprint.json')), join(dir, 'blueprint.json')),
  );
  const name = manifest?.name ?? basename(dir);

  const migrationsDir = join(dir, 'migrations');
  const files = existsSync(migrationsDir)
    ? readdirSync(migrationsDir)
        .filter((f) => f.endsWith('.sql'))
        .sort()
    : [];
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      problems.push(`${name}: migration file '${file}' must be named NNNN_slug.sql`);
      continue;
    }
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) {
      problems.push(`${name}: two migrations have version ${version}`);
      continue;
    }
    const sql = readFileSync(join(migrationsDir, file), 'utf8');
    problems.push(...checkStatements(`${name}/migrations/${file}`, sql));
    migrations.push({ version, name: file, checksum: sha256(sql), sql });
  }
  if (migrations.length === 0) problems.push(`${name}: no migrations in ${migrationsDir}`);

  const indexesPath = join(dir, 'indexes.sql');
  const indexes: IndexDefinition[] = [];
  if (existsSync(indexesPath)) {
    for (const stmt of splitSqlStatements(readFileSync(indexesPath, 'utf8'))) {
      const m = INDEX_STATEMENT.exec(stmt.sql);
      if (!m?.[1] || !m[2]) {
        problems.push(
          `${name}/indexes.sql line ${stmt.line}: expected 'CREATE INDEX IF NOT EXISTS <name> ON <table> ...'`,
        );
        continue;
      }
      problems.push(
        ...checkStatements(`${name}/indexes.sql`, stmt.sql).map((p) =>
          p.replace(`${name}/indexes.sql line 1:`, `${name}/indexes.sql line ${stmt.line}:`),
        ),
      );
      if (indexes.some((i) => i.name === m[1])) {
        problems.push(`${name}/indexes.sql line ${stmt.line}: index ${m[1]} is defined twice`);
        continue;
      }
      indexes.push({ name: m[1], table: m[2], sql: stmt.sql });
    }
  }

  const seedPath = join(dir, 'seed.json');
  const seed =
    (existsSync(seedPath)
      ? collect(problems, () => parseWith(SeedSchema, readJson(seedPath, true), `${name}/seed.json`).tables)
      : []) ?? [];
  for (const t of seed) {
    collect(problems, () => {
      assertIdentifier(t.table, `${name}/seed.json table`);
      for (const row of t.rows)
        for (const col of Object.keys(row)) assertIdentifier(col, `${name}/seed.json ${t.table} column`);
    });
  }

  for (const t of manifest?.auditTables ?? [])
    collect(problems, () => assertIdentifier(t, `${name}/blueprint.json auditTables`));

  const lockPath = join(dir, LOCK_FILE);
  const lock = existsSync(lockPath)
    ? collect(problems, () => parseWith(LockSchema, readJson(lockPath), `${name}/${LOCK_FILE}`))
    : undefined;
  if (lock && lock.blueprint !== name) {
    problems.push(`${name}/${LOCK_FILE} belongs to blueprint '${lock.blueprint}'`);
  }

  if (problems.length > 0 || !manifest) {
    const list =
      problems.length === 1 ? ` ${problems[0]}` : `\n${problems.map((p) => `  - ${p}`).join('\n')}`;
    throw new BlueprintError(
      `blueprint '${name}' has ${problems.length} problem${problems.length === 1 ? '' : 's'}:${list}`,
      { problems },
    );
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
  return process.env.TENANTRY_BLUEPRINTS ?? fileURLToPath(new URL('./blueprints/', import.meta.url));
}

export type BlueprintListing =
  | { readonly name: string; readonly blueprint: Blueprint; readonly problems?: undefined }
  | { readonly name: string; readonly blueprint?: undefined; readonly problems: readonly string[] };

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

  /**
   * Every blueprint folder, loaded; one that fails its checks is listed with its problems instead,
   * so one broken blueprint does not hide the others.
   */
  list(): BlueprintListing[] {
    return this.names().map((name): BlueprintListing => {
      try {
        return { name, blueprint: this.get(name) };
      } catch (error) {
        if (!(error instanceof BlueprintError || error instanceof ValidationError)) throw error;
        const problems =
          error instanceof BlueprintError && error.problems.length > 0 ? error.problems : [error.message];
        return { name, problems };
      }
    });
  }

  /** Forget cached blueprints (after `blueprint lock` rewrites a lock file). */
  reload(): void {
    this.cache.clear();
  }
}
