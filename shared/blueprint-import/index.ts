import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  BLUEPRINT_NAME_PATTERN,
  type Blueprint,
  callArguments,
  checkStatements,
  literalQualifier,
  loadBlueprintFrom,
  namingLiterals,
} from '../blueprint';
import { BlueprintError, ValidationError } from '../errors';
import { type ScriptItem, type SqlToken, splitPsqlScript, tokenize } from '../sql/split';
import {
  type DataValue,
  DEFAULT_VALUE,
  type DumpData,
  decodeCopyRows,
  foreignKeyOrder,
  literalValue,
  RawJson,
  type SeedRow,
  seedJson,
} from './data';

/**
 * `tenantry blueprint import`: a plain-SQL pg_dump (9.x to 17, search_path-based or fully
 * qualified, with or without `\restrict`) made into a blueprint folder. The dump's text is kept,
 * statement by statement, with these edits (each one reported with its dump line):
 * - the source schema's qualifiers go, in code and in literals that name objects
 *   (`'public.t_id_seq'::regclass`, the other reg* casts, nextval/setval/currval/to_reg*);
 * - what belongs to the database or its roles is removed, a `-- tenantry import: removed ...`
 *   comment where it was: ownership, grants, extensions and their comments, schema statements,
 *   session settings, `set_config('search_path', ...)`, psql meta-commands, DROPs of --clean;
 * - settings the statements need (check_function_bodies = false, ...) become SET LOCAL;
 * - a function's `SET search_path TO <source schema>` becomes `SET search_path FROM CURRENT`
 *   (pinned to the tenant schema it is created in);
 * - plain secondary indexes move to indexes.sql as `CREATE INDEX IF NOT EXISTS`;
 * - COPY and INSERT data go to seed.json with --data (values as text; json/jsonb as the JSON
 *   text), in foreign-key order, and are removed otherwise. setval calls (sequence positions)
 *   stay in the migration with --data: SyncTables sets them before Seed inserts the rows, and
 *   Seed only ever moves a sequence forward; without --data they are removed.
 */
export interface ImportOptions {
  readonly name: string;
  /** The schema the dump's objects live in (default public). */
  readonly schema?: string;
  /** Turn COPY/INSERT data into seed.json. */
  readonly data?: boolean;
  /** The dump's file name, for the description and the migration's slug. */
  readonly source?: string;
}

export interface ImportNote {
  /** What kind of change or warning (the report groups by it). */
  readonly group: string;
  /** The dump line it is about. */
  readonly line: number;
  readonly detail?: string;
}

export interface ImportedBlueprint {
  readonly name: string;
  readonly files: Readonly<Record<string, string>>;
  readonly migrationFile: string;
  readonly changes: readonly ImportNote[];
  readonly warnings: readonly ImportNote[];
  readonly stats: {
    readonly statements: number;
    readonly indexes: number;
    readonly seedTables: number;
    readonly seedRows: number;
  };
}

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_temp', 'pg_toast']);

/** Session settings a dump sets for its own load; they mean nothing to a tenant's migration. */
const SESSION_ONLY = new Set([
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  'transaction_timeout',
  'client_encoding',
  'client_min_messages',
  'row_security',
  'xmloption',
  'default_tablespace',
  'default_with_oids',
  'escape_string_warning',
  'synchronous_commit',
  'standard_conforming_strings',
  'default_table_access_method',
]);

const ROUTINE_OPTION_WORDS = new Set([
  'language',
  'as',
  'security',
  'immutable',
  'stable',
  'volatile',
  'strict',
  'called',
  'returns',
  'cost',
  'rows',
  'support',
  'set',
  'parallel',
  'leakproof',
  'not',
  'external',
  'window',
  'transform',
  'reset',
  'begin',
  'return',
]);

const TABLE_CONSTRAINT_WORDS = new Set([
  'constraint',
  'primary',
  'unique',
  'check',
  'foreign',
  'exclude',
  'like',
]);

interface TableInfo {
  readonly columns: string[];
  readonly types: Map<string, string>;
  readonly parents: string[];
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

const oneLine = (sql: string, max = 120) => {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

const word = (t: SqlToken | undefined) => (t?.kind === 'ident' ? t.value : '');
const isName = (t: SqlToken | undefined) => t?.kind === 'ident' || t?.kind === 'quoted';

/** A possibly qualified name starting at token i. */
function nameAt(tokens: readonly SqlToken[], i: number) {
  const a = tokens[i];
  if (!a || !isName(a)) return undefined;
  const dot = tokens[i + 1];
  const b = tokens[i + 2];
  if (dot?.kind === 'op' && dot.value === '.' && isName(b) && b)
    return { schema: a.value, name: b.value, next: i + 3 };
  return { schema: undefined as string | undefined, name: a.value, next: i + 1 };
}

/** The index of the token that closes the bracket opened at `open`. */
function closing(tokens: readonly SqlToken[], open: number): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const v = tokens[k]?.kind === 'op' ? tokens[k]?.value : '';
    if (v === '(' || v === '[') depth++;
    if (v === ')' || v === ']') {
      depth--;
      if (depth === 0) return k;
    }
  }
  return tokens.length - 1;
}

const sqlString = (value: string) => `'${value.replaceAll("'", "''")}'`;

const newlines = (s: string) => s.split('\n').length - 1;

/**
 * The text with each range replaced. With `keepLines`, a replacement is padded with the newlines
 * of the text it replaced, so every line keeps its number: line N of the migration is line N of
 * the dump, and an error at lock or run time points at the dump's line too.
 */
function applyEdits(text: string, edits: readonly Edit[], keepLines = false): string {
  let out = '';
  let at = 0;
  for (const e of [...edits].sort((a, b) => a.start - b.start)) {
    if (e.start < at) continue;
    const pad = keepLines ? Math.max(0, newlines(text.slice(e.start, e.end)) - newlines(e.text)) : 0;
    out += text.slice(at, e.start) + e.text + '\n'.repeat(pad);
    at = e.end;
  }
  return out + text.slice(at);
}

/** Turns a dump's text into the files of a blueprint named `options.name`, and what was done. */
export function importDump(dump: string, options: ImportOptions): ImportedBlueprint {
  if (!BLUEPRINT_NAME_PATTERN.test(options.name)) {
    throw new ValidationError([
      {
        field: 'name',
        reason: `'${options.name}' must match ${BLUEPRINT_NAME_PATTERN} (a blueprint folder name)`,
      },
    ]);
  }
  const schema = options.schema ?? 'public';
  const withData = options.data === true;
  const changes: ImportNote[] = [];
  const warnings: ImportNote[] = [];
  const change = (group: string, line: number, detail?: string) =>
    changes.push({ group, line, ...(detail ? { detail } : {}) });
  const warn = (group: string, line: number, detail: string) => warnings.push({ group, line, detail });

  const items = splitPsqlScript(dump);
  const statements = items.filter((i) => i.kind === 'statement');
  if (statements.length === 0) {
    throw new ValidationError([
      { field: 'dump', reason: 'has no SQL statements (is it a plain-SQL pg_dump?)' },
    ]);
  }
  const parsed = new Map<ScriptItem, SqlToken[]>(statements.map((s) => [s, tokenize(s.sql)]));

  // How many statements name each identifier: an index named elsewhere stays in the migration.
  const mentions = new Map<string, number>();
  for (const tokens of parsed.values()) {
    for (const v of new Set(tokens.filter(isName).map((t) => t.value)))
      mentions.set(v, (mentions.get(v) ?? 0) + 1);
  }

  const otherSchemas = new Set<string>();
  const tables = new Map<string, TableInfo>();
  const domains = new Map<string, string>();
  const references = new Map<string, Set<string>>();
  const insertTriggers: { table: string; name: string; line: number; kind: string }[] = [];
  const identityAlways: { table: string; line: number }[] = [];
  const data: DumpData[] = [];
  const edits: Edit[] = [];
  const indexLines: string[] = [];
  let kept = 0;

  const remove = (item: ScriptItem, group: string, extra = '') => {
    change(group, item.line, oneLine(item.sql, 80));
    const what = item.kind === 'meta' ? (item.sql.split(/\s+/)[0] ?? item.sql) : oneLine(item.sql);
    edits.push({
      start: item.start,
      end: item.end,
      text: `-- tenantry import: removed ${group}: ${what}${extra}`,
    });
  };

  /** The statement with the source schema's qualifiers removed (code and object-naming literals). */
  const unqualify = (item: ScriptItem, tokens: readonly SqlToken[]): string => {
    const local: Edit[] = [];
    tokens.forEach((t, i) => {
      if (!isName(t)) return;
      const dot = tokens[i + 1];
      const prev = tokens[i - 1];
      if (dot?.kind !== 'op' || dot.value !== '.' || (prev?.kind === 'op' && prev.value === '.')) return;
      if (!tokens[i + 2]) return;
      if (t.value === schema) local.push({ start: t.start, end: dot.end, text: '' });
      else if (otherSchemas.has(t.value))
        warn(
          'names another schema',
          item.line,
          `${t.value}.${tokens[i + 2]?.value}: the tenant would depend on schema ${t.value}`,
        );
    });
    for (const i of namingLiterals(tokens)) {
      const t = tokens[i];
      const q = t ? literalQualifier(t.value) : undefined;
      if (!t || !q) continue;
      if (q.schema === schema) local.push({ start: t.start, end: t.end, text: sqlString(q.rest) });
      else if (!SYSTEM_SCHEMAS.has(q.schema))
        warn('names another schema', item.line, `${t.text}: the tenant would depend on schema ${q.schema}`);
    }
    if (local.length > 0) change(`schema qualifier '${schema}.' removed`, item.line);
    return applyEdits(item.sql, local);
  };

  const keep = (item: ScriptItem, sql: string) => {
    kept++;
    edits.push({ start: item.start, end: item.end, text: `${sql};` });
  };

  for (const item of items) {
    if (item.kind === 'meta') {
      remove(item, 'psql meta-command');
      continue;
    }
    const tokens = parsed.get(item) ?? [];
    const w = (i: number) => word(tokens[i]);
    const first = w(0);
    const code = tokens
      .map((t) => (t.kind === 'ident' ? t.value : t.kind === 'op' ? t.value : '?'))
      .join(' ');

    if (
      ['begin', 'commit', 'end', 'rollback', 'savepoint', 'release'].includes(first) ||
      code.startsWith('start transaction')
    ) {
      remove(item, 'transaction control (the runner wraps migrations in one transaction)');
      continue;
    }
    if (first === 'set' || first === 'reset') {
      handleSet(item, tokens);
      continue;
    }
    if (first === 'select' && /^select (pg_catalog \. )?set_config \(/.test(code)) {
      const open = tokens.findIndex((t) => t.value === '(');
      const args = callArguments(tokens, open);
      const name = args[0]?.[0]?.kind === 'string' ? args[0][0].value : '';
      if (name === 'search_path') {
        remove(item, 'search_path setting (the runner sets the tenant schema)');
        continue;
      }
      const local = args[2]?.[0];
      if (local && local.value !== 'true') {
        change('session setting made transaction-local', item.line, oneLine(item.sql, 80));
        keep(item, `${item.sql.slice(0, local.start)}true${item.sql.slice(local.end)}`);
        continue;
      }
    }
    if (first === 'select' && /^select (pg_catalog \. )?setval \(/.test(code)) {
      if (withData) {
        change('sequence position kept in the migration (--data)', item.line);
        keep(item, unqualify(item, tokens));
      } else remove(item, 'sequence position (data; import with --data to keep it)');
      continue;
    }
    if (first === 'select' && /\blo_(create|open|write|close|from_bytea)\b|\blowrite\b/.test(code)) {
      remove(item, 'large object');
      warn('large objects are not imported', item.line, oneLine(item.sql, 80));
      continue;
    }
    if (/\bowner to\b/.test(code) && first === 'alter') {
      remove(item, 'ownership (OWNER TO: roles differ between databases)');
      continue;
    }
    if (first === 'grant' || first === 'revoke') {
      remove(
        item,
        / on schema /.test(code)
          ? 'privileges on a schema'
          : 'privileges (GRANT/REVOKE: roles differ between databases)',
      );
      continue;
    }
    if (first === 'alter' && w(1) === 'default' && w(2) === 'privileges') {
      remove(item, 'privileges (GRANT/REVOKE: roles differ between databases)');
      continue;
    }
    if (first === 'security' && w(1) === 'label') {
      remove(item, 'security label');
      continue;
    }
    if (first === 'drop') {
      remove(item, 'DROP (pg_dump --clean: a tenant schema starts empty)');
      continue;
    }

    // CREATE/ALTER/COMMENT of things that belong to the database, not to a schema.
    const verbs = tokens.filter((t) => t.kind === 'ident').map((t) => t.value);
    const objectWord = (() => {
      if (first === 'comment') return w(2);
      if (first !== 'create' && first !== 'alter') return '';
      const skip = new Set([
        'or',
        'replace',
        'trusted',
        'procedural',
        'unique',
        'unlogged',
        'temporary',
        'temp',
        'global',
        'local',
        'constraint',
        'recursive',
        'materialized',
      ]);
      return verbs.slice(1).find((v) => !skip.has(v)) ?? '';
    })();
    if (first === 'create' || first === 'alter' || first === 'comment') {
      if (objectWord === 'extension') {
        remove(item, 'extension (install extensions database-wide, not per tenant)');
        const name = first === 'create' ? nameAfter(tokens, 'extension') : undefined;
        if (name && name !== 'plpgsql')
          warn(
            'extension needed',
            item.line,
            `extension ${name}: install it in the database before provisioning; objects it made in ${schema} are now unqualified and must resolve from the tenant's search_path`,
          );
        continue;
      }
      if (objectWord === 'language') {
        remove(item, 'procedural language (it belongs to the database)');
        continue;
      }
      if (objectWord === 'schema') {
        const name = nameAfter(tokens, 'schema');
        remove(item, 'schema statement (the tenant schema is created by CreateSchema)');
        if (name && name !== schema && !SYSTEM_SCHEMAS.has(name)) {
          otherSchemas.add(name);
          warn(
            'another schema',
            item.line,
            `schema ${name} is not the source schema (${schema}): its objects are not tenant objects; import a dump of one schema (pg_dump -n)`,
          );
        }
        continue;
      }
      if (objectWord === 'database') {
        remove(item, 'database statement');
        continue;
      }
      if (
        ['publication', 'subscription', 'event', 'role', 'user', 'tablespace', 'server'].includes(
          objectWord,
        ) ||
        (objectWord === 'foreign' && w(first === 'comment' ? 3 : 2) === 'data')
      ) {
        remove(item, `database-wide object (${objectWord})`);
        warn('database-wide object', item.line, `${oneLine(item.sql, 80)}: create it outside the blueprint`);
        continue;
      }
    }

    if (first === 'copy' || first === 'insert') {
      handleData(item, tokens);
      continue;
    }

    // Everything else is a schema object: kept, unqualified.
    let sql = unqualify(item, tokens);
    let rewritten = tokenize(sql);
    if (first === 'create' && (objectWord === 'function' || objectWord === 'procedure')) {
      sql = routine(item, sql, rewritten, objectWord);
      rewritten = tokenize(sql);
    }
    if (first === 'create' && objectWord === 'index' && moveIndex(item, sql, rewritten)) continue;
    if (first === 'create' && objectWord === 'table') readTable(item, rewritten);
    if (first === 'create' && objectWord === 'domain') {
      const d = nameAt(rewritten, rewritten.findIndex((t) => t.value === 'domain') + 1);
      const as = rewritten.findIndex((t) => t.value === 'as');
      const base = as > 0 ? nameAt(rewritten, as + 1) : undefined;
      if (d && base) domains.set(d.name, base.name);
    }
    if (first === 'create' && objectWord === 'trigger') readTrigger(item, rewritten, 'trigger');
    if (first === 'create' && objectWord === 'rule') readTrigger(item, rewritten, 'rule');
    if (first === 'alter' && objectWord === 'table') readAlterTable(item, rewritten);
    if (
      /\btablespace\b/i.test(
        rewritten
          .filter((t) => t.kind === 'ident')
          .map((t) => t.value)
          .join(' '),
      )
    )
      warn('tablespace', item.line, 'names a tablespace: tablespaces belong to the database');
    keep(item, sql);
  }

  function nameAfter(tokens: readonly SqlToken[], keyword: string): string | undefined {
    let k = tokens.findIndex((t) => t.kind === 'ident' && t.value === keyword) + 1;
    if (k <= 0) return undefined;
    if (word(tokens[k]) === 'if') k += word(tokens[k + 1]) === 'not' ? 3 : 2;
    return nameAt(tokens, k)?.name;
  }

  function handleSet(item: ScriptItem, tokens: readonly SqlToken[]) {
    const w = (i: number) => word(tokens[i]);
    if (tokens[0]?.value === 'reset' || w(0) === 'reset') {
      remove(item, 'session setting');
      return;
    }
    if (w(1) === 'local' || w(1) === 'constraints') {
      keep(item, unqualify(item, tokens));
      return;
    }
    let k = 1;
    if (w(1) === 'session') {
      if (w(2) === 'authorization' || w(2) === 'characteristics') {
        remove(
          item,
          w(2) === 'authorization' ? 'role setting (roles differ between databases)' : 'session setting',
        );
        return;
      }
      k = 2;
    }
    if (w(k) === 'role') {
      remove(item, 'role setting (roles differ between databases)');
      return;
    }
    const name = tokens[k]?.value ?? '';
    const valueTokens = tokens
      .slice(k + 1)
      .filter((t, i) => !(i === 0 && (t.value === '=' || t.value === 'to')));
    const value = valueTokens
      .map((t) => t.value)
      .join('')
      .toLowerCase();
    if (name === 'search_path') {
      remove(item, 'search_path setting (the runner sets the tenant schema)');
      const others = valueTokens
        .filter(isName)
        .map((t) => t.value)
        .filter((s) => s !== schema && !SYSTEM_SCHEMAS.has(s) && s !== '$user');
      if (others.length > 0)
        warn(
          'another schema',
          item.line,
          `search_path set to ${others.join(', ')}: the statements after it were written for that schema, not ${schema}`,
        );
      return;
    }
    if (name === 'check_function_bodies' && ['false', 'off', '0'].includes(value)) {
      change('needed setting made SET LOCAL', item.line, oneLine(item.sql, 80));
      keep(item, 'SET LOCAL check_function_bodies = false');
      return;
    }
    if (name === 'standard_conforming_strings' && ['false', 'off', '0'].includes(value)) {
      change('needed setting made SET LOCAL', item.line, oneLine(item.sql, 80));
      warn(
        'standard_conforming_strings off',
        item.line,
        "the dump's literals use backslash escapes; re-dump from a server with standard_conforming_strings on if the import misreads them",
      );
      keep(item, 'SET LOCAL standard_conforming_strings = off');
      return;
    }
    if (name === 'default_table_access_method' && value !== 'heap') {
      change('needed setting made SET LOCAL', item.line, oneLine(item.sql, 80));
      keep(item, `SET LOCAL ${item.sql.slice(tokens[k]?.start ?? 0)}`);
      return;
    }
    if (SESSION_ONLY.has(name)) {
      remove(item, 'session setting');
      if (name === 'client_encoding' && !/utf-?8/.test(value))
        warn('encoding', item.line, `the dump is in ${value}; the import reads it as UTF-8`);
      if (name === 'default_with_oids' && ['true', 'on', '1'].includes(value))
        warn('oids', item.line, 'tables WITH OIDS are not supported by Postgres 12 and later');
      if (name === 'default_tablespace' && value !== "''" && value !== '')
        warn('tablespace', item.line, 'names a tablespace: tablespaces belong to the database');
      return;
    }
    change('session setting made SET LOCAL', item.line, oneLine(item.sql, 80));
    keep(item, `SET LOCAL ${item.sql.slice(tokens[k]?.start ?? 0)}`);
  }

  /** CREATE FUNCTION/PROCEDURE: its SET search_path pinned with FROM CURRENT; warnings for what to review. */
  function routine(item: ScriptItem, sql: string, tokens: readonly SqlToken[], kind: string): string {
    const local: Edit[] = [];
    const at = tokens.findIndex((t) => t.value === kind);
    const fn = nameAt(tokens, at + 1);
    const open = fn?.next ?? -1;
    const close = open >= 0 ? closing(tokens, open) : -1;
    const identity = (open >= 0 ? callArguments(tokens, open) : [])
      .filter((a) => a.length > 0 && !(kind === 'function' && word(a[0]) === 'out'))
      .map((a) => {
        const stop = a.findIndex((t) => word(t) === 'default' || t.value === '=');
        const parts = stop >= 0 ? a.slice(0, stop) : a;
        const s = parts[0]?.start ?? 0;
        const e = parts.at(-1)?.end ?? s;
        return oneLine(sql.slice(s, e));
      });
    const signature = `${fn?.name ?? '?'}(${identity.join(', ')})`;
    for (let i = close + 1; i < tokens.length; i++) {
      const t = tokens[i];
      if (word(t) === 'set' && word(tokens[i + 1]) === 'search_path' && word(tokens[i + 2]) !== 'from') {
        let j = i + 3;
        const values: string[] = [];
        while (
          j < tokens.length &&
          !(ROUTINE_OPTION_WORDS.has(word(tokens[j])) && tokens[j - 1]?.value !== ',')
        ) {
          const v = tokens[j];
          if (v && (v.kind === 'string' || isName(v))) values.push(v.value);
          j++;
        }
        const names = values.flatMap((v) => v.split(',')).map((v) => v.trim().replace(/^"(.*)"$/, '$1'));
        const others = names.filter((v) => v !== schema && v !== 'pg_temp' && v !== 'pg_catalog' && v !== '');
        local.push({
          start: t?.start ?? 0,
          end: tokens[j - 1]?.end ?? 0,
          text: 'SET search_path FROM CURRENT',
        });
        change('function search_path pinned with SET search_path FROM CURRENT', item.line, signature);
        if (others.length > 0)
          warn(
            'function search_path',
            item.line,
            `${signature} also searched ${others.join(', ')}: no longer`,
          );
      }
      if (word(t) === 'security' && word(tokens[i + 1]) === 'definer')
        warn(
          'SECURITY DEFINER',
          item.line,
          `${signature} is SECURITY DEFINER: provisioning refuses it unless blueprint.json declares it deliberately, "securityDefiner": ["${signature}"]`,
        );
      if (word(t) === 'language' && ['c', 'internal'].includes(word(tokens[i + 1])))
        warn(
          'C function',
          item.line,
          `${signature} is LANGUAGE ${word(tokens[i + 1])}: it belongs to an extension`,
        );
      if ((t?.kind === 'dollar' || t?.kind === 'string') && word(tokens[i - 1]) === 'as') {
        if (new RegExp(`(^|[^\\w$])"?${schema}"?\\s*\\.\\s*[\\w"]`, 'i').test(t.value))
          warn(
            'function body names the source schema',
            item.line,
            `${signature}: its body names ${schema}.<object>; in a tenant that still means schema ${schema}, not the tenant's own (remove the qualifier)`,
          );
      }
    }
    return applyEdits(sql, local);
  }

  /** A plain secondary index: moved to indexes.sql (as CREATE INDEX IF NOT EXISTS). */
  function moveIndex(item: ScriptItem, sql: string, tokens: readonly SqlToken[]): boolean {
    if (word(tokens[1]) !== 'index') return false; // UNIQUE indexes stay: seeding and ON CONFLICT need them
    let k = 2;
    if (word(tokens[k]) === 'concurrently') k++;
    if (word(tokens[k]) === 'if') k += 3;
    const name = tokens[k];
    if (name?.kind !== 'ident' || !/^[a-z_][a-z0-9_]*$/.test(name.text) || word(tokens[k + 1]) !== 'on')
      return false;
    const table = nameAt(tokens, k + 2);
    if (
      !table ||
      table.schema ||
      word(tokens[k + 2]) === 'only' ||
      !/^[a-z_][a-z0-9_]*$/.test(tokens[k + 2]?.text ?? '')
    )
      return false;
    if ((mentions.get(name.value) ?? 0) > 1) return false; // ATTACH PARTITION, CLUSTER ON, USING INDEX ...
    indexLines.push(`CREATE INDEX IF NOT EXISTS ${name.text} ${sql.slice(tokens[k + 1]?.start ?? 0)};`);
    change('index moved to indexes.sql', item.line, name.text);
    edits.push({
      start: item.start,
      end: item.end,
      text: `-- tenantry import: moved index ${name.text} to indexes.sql`,
    });
    return true;
  }

  function readTable(item: ScriptItem, tokens: readonly SqlToken[]) {
    let k = tokens.findIndex((t) => word(t) === 'table') + 1;
    if (word(tokens[k]) === 'if') k += 3;
    const table = nameAt(tokens, k);
    if (!table || table.schema) return;
    const info: TableInfo = { columns: [], types: new Map(), parents: [] };
    tables.set(table.name, info);
    let next = table.next;
    if (word(tokens[next]) === 'partition' && word(tokens[next + 1]) === 'of') {
      const parent = nameAt(tokens, next + 2);
      if (parent) info.parents.push(parent.name);
      return;
    }
    if (tokens[next]?.value !== '(') return;
    const close = closing(tokens, next);
    for (const el of callArguments(tokens, next)) {
      const head = el[0];
      if (!head) continue;
      const refs = el.findIndex((t) => word(t) === 'references');
      if (refs >= 0) {
        const ref = nameAt(el, refs + 1);
        if (ref) addReference(table.name, ref.name);
      }
      if (head.kind === 'ident' && TABLE_CONSTRAINT_WORDS.has(head.value)) continue;
      if (!isName(head)) continue;
      info.columns.push(head.value);
      const typeName = nameAt(el, 1);
      if (typeName) info.types.set(head.value, typeName.name);
      const codeWords = el.map((t) => word(t)).join(' ');
      if (/generated always as identity/.test(codeWords))
        identityAlways.push({ table: table.name, line: item.line });
    }
    next = close + 1;
    if (word(tokens[next]) === 'inherits' && tokens[next + 1]?.value === '(') {
      for (const p of callArguments(tokens, next + 1)) {
        const parent = nameAt(p, 0);
        if (parent) info.parents.push(parent.name);
      }
    }
  }

  function addReference(from: string, to: string) {
    const set = references.get(from) ?? new Set<string>();
    set.add(to);
    references.set(from, set);
  }

  function readAlterTable(item: ScriptItem, tokens: readonly SqlToken[]) {
    let k = 2;
    if (word(tokens[k]) === 'if') k += 2;
    if (word(tokens[k]) === 'only') k++;
    const table = nameAt(tokens, k);
    if (!table) return;
    const refs = tokens.findIndex((t) => word(t) === 'references');
    if (refs >= 0) {
      const ref = nameAt(tokens, refs + 1);
      if (ref) addReference(table.name, ref.name);
    }
    if (/generated always as identity/.test(tokens.map((t) => word(t)).join(' ')))
      identityAlways.push({ table: table.name, line: item.line });
  }

  function readTrigger(item: ScriptItem, tokens: readonly SqlToken[], kind: 'trigger' | 'rule') {
    const on = tokens.findIndex(
      (t, i) => word(t) === 'on' && i > 2 && !(kind === 'rule' && word(tokens[i - 1]) === 'as'),
    );
    const events = tokens.slice(0, on).map((t) => word(t));
    const table =
      kind === 'rule'
        ? nameAt(tokens, tokens.findIndex((t) => word(t) === 'to') + 1)
        : on >= 0
          ? nameAt(tokens, on + 1)
          : undefined;
    const ruleOnInsert =
      kind === 'rule' && tokens.some((t, i) => word(t) === 'on' && word(tokens[i + 1]) === 'insert');
    const name = tokens.find((t, i) => i > 1 && isName(t))?.value ?? '?';
    if (table && (ruleOnInsert || (kind === 'trigger' && events.includes('insert'))))
      insertTriggers.push({ table: table.name, name, line: item.line, kind });
  }

  function handleData(item: ScriptItem, tokens: readonly SqlToken[]) {
    const isCopy = word(tokens[0]) === 'copy';
    const target = nameAt(tokens, isCopy ? 1 : 2);
    if (!target || (!isCopy && word(tokens[1]) !== 'into')) {
      keep(item, unqualify(item, tokens));
      return;
    }
    const tableSchema = target.schema === schema ? undefined : target.schema;
    let k = target.next;
    let columns: string[] | undefined;
    if (tokens[k]?.value === '(') {
      const close = closing(tokens, k);
      columns = tokens
        .slice(k + 1, close)
        .filter(isName)
        .map((t) => t.value);
      k = close + 1;
    }
    if (isCopy) {
      const rows = item.copyData ?? [];
      if (!withData) {
        remove(item, 'table data (import with --data to make it seed.json)', ` (${rows.length} rows)`);
        return;
      }
      const decoded = decodeCopyRows(rows);
      data.push({ table: target.name, schema: tableSchema, columns, rows: decoded.rows, line: item.line });
      change('table data moved to seed.json', item.line, `${target.name}: ${rows.length} rows (COPY)`);
      edits.push({
        start: item.start,
        end: item.end,
        text: `-- tenantry import: moved ${rows.length} rows of ${target.name} to seed.json`,
      });
      return;
    }
    if (!withData) {
      remove(item, 'table data (import with --data to make it seed.json)');
      return;
    }
    // INSERT INTO t [(cols)] [OVERRIDING ... VALUE] VALUES (...), (...)
    while (k < tokens.length && word(tokens[k]) !== 'values') k++;
    const rows: DataValue[][] = [];
    let ok = word(tokens[k]) === 'values';
    k++;
    while (ok && k < tokens.length) {
      if (tokens[k]?.value !== '(') {
        ok = false;
        break;
      }
      const close = closing(tokens, k);
      const values = callArguments(tokens, k).map(literalValue);
      if (values.some((v) => v === undefined)) ok = false;
      rows.push(values as DataValue[]);
      k = close + 1;
      if (tokens[k]?.value === ',') k++;
      else if (k < tokens.length) ok = false;
    }
    if (!ok) {
      warn(
        'INSERT kept in the migration',
        item.line,
        'its values are not all literals (or it has ON CONFLICT/RETURNING): it runs as SQL in the migration',
      );
      keep(item, unqualify(item, tokens));
      return;
    }
    data.push({ table: target.name, schema: tableSchema, columns, rows, line: item.line });
    change('table data moved to seed.json', item.line, `${target.name}: ${rows.length} rows (INSERT)`);
    edits.push({
      start: item.start,
      end: item.end,
      text: `-- tenantry import: moved ${rows.length} row${rows.length === 1 ? '' : 's'} of ${target.name} to seed.json`,
    });
  }

  // Data to seed.json: columns resolved, json/jsonb values as JSON text, tables in FK order.
  const columnsOf = (table: string, seen = new Set<string>()): string[] => {
    const info = tables.get(table);
    if (!info || seen.has(table)) return [];
    seen.add(table);
    const inherited = info.parents.flatMap((p) => columnsOf(p, seen));
    return [...new Set([...inherited, ...info.columns])];
  };
  const typeOf = (table: string, column: string, seen = new Set<string>()): string | undefined => {
    const info = tables.get(table);
    if (!info || seen.has(table)) return undefined;
    seen.add(table);
    let t = info.types.get(column) ?? info.parents.map((p) => typeOf(p, column, seen)).find(Boolean);
    for (let depth = 0; t && domains.has(t) && depth < 10; depth++) t = domains.get(t);
    return t;
  };
  const seedRows = new Map<string, SeedRow[]>();
  const warnedJson = new Set<string>();
  for (const d of data) {
    if (d.schema && !SYSTEM_SCHEMAS.has(d.schema)) {
      warn('data of another schema', d.line, `${d.schema}.${d.table}: not imported`);
      continue;
    }
    const columns = d.columns ?? columnsOf(d.table);
    if (columns.length === 0) {
      warn('data not imported', d.line, `${d.table}: no column list and no CREATE TABLE for it in the dump`);
      continue;
    }
    const rows = seedRows.get(d.table) ?? [];
    seedRows.set(d.table, rows);
    for (const values of d.rows) {
      if (values.length !== columns.length) {
        warn(
          'data row skipped',
          d.line,
          `${d.table}: a row has ${values.length} values for ${columns.length} columns`,
        );
        continue;
      }
      const row: SeedRow = {};
      columns.forEach((c, i) => {
        const v = values[i];
        if (v === DEFAULT_VALUE || v === undefined) return;
        const type = typeOf(d.table, c);
        if (v !== null && (type === 'jsonb' || type === 'json')) {
          try {
            JSON.parse(v);
            row[c] = new RawJson(v.trim());
            if (v.trim() === 'null')
              warn('JSON null', d.line, `${d.table}.${c}: a JSON null is seeded as SQL NULL`);
          } catch {
            row[c] = v;
            warn(
              'JSON value',
              d.line,
              `${d.table}.${c}: a value is not JSON that JavaScript reads; seeded as text`,
            );
          }
          if (type === 'json' && !warnedJson.has(`${d.table}.${c}`)) {
            warnedJson.add(`${d.table}.${c}`);
            warn(
              'json column',
              d.line,
              `${d.table}.${c} is json: seeding passes it through jsonb, which normalises whitespace, key order and duplicate keys`,
            );
          }
        } else row[c] = v;
      });
      if (Object.keys(row).length > 0) rows.push(row);
    }
  }
  const seeded = [...seedRows.entries()].filter(([, rows]) => rows.length > 0).map(([t]) => t);
  const { order, cycle } = foreignKeyOrder(seeded, references);
  if (cycle.length > 0)
    warn(
      'foreign key cycle',
      data.find((d) => d.table === cycle[0])?.line ?? 1,
      `tables ${cycle.join(', ')} reference each other: seeding them may fail on a foreign key`,
    );
  for (const t of insertTriggers)
    if (seedRows.get(t.table)?.length)
      warn(
        'trigger fires during seeding',
        t.line,
        `${t.kind} ${t.name} on ${t.table} fires when Seed inserts its rows (pg_dump loads data before triggers exist): seeded rows may differ from the dump's`,
      );
  for (const t of identityAlways)
    if (seedRows.get(t.table)?.length)
      warn(
        'GENERATED ALWAYS identity',
        t.line,
        `${t.table} has a GENERATED ALWAYS identity column: Seed cannot insert its values; make it GENERATED BY DEFAULT`,
      );

  const slug =
    basename(options.source ?? 'import')
      .replace(/\.[^.]*$/, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'import';
  const migrationFile = `0001_${slug}.sql`;
  const version = /^-- Dumped by pg_dump version (\S+)/m.exec(dump)?.[1];
  const migration = `${applyEdits(dump, edits, true).replace(/\s*$/, '\n')}\n-- tenantry blueprint import from ${basename(
    options.source ?? 'a dump',
  )}${version ? ` (pg_dump ${version})` : ''}: each change is marked '-- tenantry import:'; line numbers are the dump's\n`;
  const files: Record<string, string> = {
    'blueprint.json': `${JSON.stringify(
      {
        name: options.name,
        description: `Imported from ${basename(options.source ?? 'a pg_dump')}${version ? ` (pg_dump ${version})` : ''}`,
      },
      null,
      2,
    )}\n`,
    [`migrations/${migrationFile}`]: migration,
  };
  if (indexLines.length > 0) files['indexes.sql'] = `${indexLines.join('\n')}\n`;
  const seedTables = order.map((table) => ({ table, rows: seedRows.get(table) ?? [] }));
  if (seedTables.length > 0) files['seed.json'] = seedJson(seedTables);

  // What the blueprint checks would still refuse: reported now, not at the next run.
  for (const p of checkStatements(`${options.name}/migrations/${migrationFile}`, migration))
    warn('blueprint check', 1, p);

  return {
    name: options.name,
    files,
    migrationFile,
    changes,
    warnings,
    stats: {
      statements: kept,
      indexes: indexLines.length,
      seedTables: seedTables.length,
      seedRows: seedTables.reduce((n, t) => n + t.rows.length, 0),
    },
  };
}

/**
 * Writes an imported blueprint into `root/<name>/` and loads it back (the blueprint checks).
 * Refuses to replace an existing blueprint unless `force`.
 */
export function writeImportedBlueprint(
  root: string,
  imported: ImportedBlueprint,
  options: { force?: boolean } = {},
): Blueprint {
  const dir = join(root, imported.name);
  if (existsSync(dir)) {
    if (!options.force)
      throw new BlueprintError(
        `blueprint '${imported.name}' already exists at ${dir} (pass --force to replace it)`,
      );
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(dir, 'migrations'), { recursive: true });
  for (const [file, text] of Object.entries(imported.files)) writeFileSync(join(dir, file), text);
  return loadBlueprintFrom(dir);
}

const lineList = (lines: readonly number[]) => {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] ?? 0) - (sorted[j] ?? 0) <= 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j;
  }
  return parts.join(', ');
};

/** The import report: every change grouped (with its dump lines), then every warning. */
export function formatImportReport(imported: ImportedBlueprint, dir: string): string {
  const out: string[] = [];
  const s = imported.stats;
  out.push(
    `Imported blueprint '${imported.name}' into ${dir}: migrations/${imported.migrationFile} (${s.statements} statements), ` +
      `indexes.sql (${s.indexes} indexes)` +
      (s.seedTables > 0 ? `, seed.json (${s.seedTables} tables, ${s.seedRows} rows)` : ''),
  );
  const groups = new Map<string, ImportNote[]>();
  for (const c of imported.changes) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  out.push('', `Changes (${imported.changes.length}):`);
  for (const [group, notes] of groups) {
    out.push(
      `  ${group} [${notes.length}]: line${notes.length === 1 ? '' : 's'} ${lineList(notes.map((n) => n.line))}`,
    );
  }
  out.push('', `Warnings (${imported.warnings.length}):`);
  if (imported.warnings.length === 0) out.push('  none');
  for (const w of [...imported.warnings].sort((a, b) => a.line - b.line))
    out.push(`  line ${w.line}: ${w.group}: ${w.detail ?? ''}`);
  out.push('', `Next: tenantry blueprint lock ${imported.name}`);
  return out.join('\n');
}
