import * as z from 'zod';
import type { BlobStore, Retention } from '../blobs/port';
import { BackupChangedError, RowTooLargeError } from '../errors';
import { quoteIdent, quoteLiteral } from '../identifiers';
import type { SqlClient, SqlExecutor, SqlParam } from '../sql/port';
import { lazySchema, parseOrThrow } from '../validation';
import { type BackupColumn, type BackupTable, backupSequences, backupTables } from './catalog';
import { copyLineSql, countLines, decodeField } from './copy-text';
import {
  applyCopySettings,
  type BackupManifestSequence,
  type BackupManifestTable,
  type BackupProgress,
  BackupProgressSchema,
  partChecksum,
  tableChecksum,
} from './manifest';

/** Bytes of one part when the backend has no response limit (a Postgres server, PGlite). */
export const DEFAULT_PART_BYTES = 4 * 1024 * 1024;
/** What a response needs besides the rows (column metadata, framing): kept free below the limit. */
const RESPONSE_HEADROOM_BYTES = 64 * 1024;
/** Per record, what a Data API response adds around its fields. */
const RECORD_OVERHEAD_BYTES = 96;
/**
 * Characters of a line per Data API record: the service refuses a result row over 64 KB, so a
 * wide line comes back as several records (8,000 characters are at most 32 KB of UTF-8).
 */
const DATA_API_CHUNK_CHARS = 8000;
/** Heap blocks one page of a table without a primary key looks at (8 MiB with 8 KiB blocks). */
const CTID_WINDOW_BLOCKS = 1024;
const FIRST_PAGE_ROWS = 1000;

/** Where a backup cut across invocations goes on: the table, the last key read, the next part. */
export const BackupCursorSchema = lazySchema(() =>
  z.object({
    table: z.number().int().nonnegative(),
    /** The last row read, as its key's text (or its ctid); null before the table's first page. */
    after: z.array(z.string()).nullable(),
    /** For a table paged by ctid: the block the current window ends before. */
    windowEnd: z.number().int().nonnegative().optional(),
    part: z.number().int().nonnegative(),
    /** How many invocations came before: names the progress object, so a retry rewrites the same one. */
    slice: z.number().int().nonnegative(),
    progressKey: z.string().nullable(),
  }),
);
export type BackupCursor = z.infer<typeof BackupCursorSchema>;

export interface ExportOptions {
  readonly schema: string;
  readonly store: BlobStore;
  /** Key prefix of this backup's objects. */
  readonly prefix: string;
  readonly retention: Retention;
  /** No new page is started after this time (ms since the epoch); one page is always written. */
  readonly deadline: number;
  readonly cursor?: BackupCursor | undefined;
}

export type ExportResult =
  | {
      readonly done: true;
      readonly tables: BackupManifestTable[];
      readonly sequences: BackupManifestSequence[];
    }
  | { readonly done: false; readonly cursor: BackupCursor; readonly rows: number };

interface PageLimits {
  /** Bytes a page may hold, measured as the response will carry them. */
  readonly pageBytes: number;
  /** The response limit a single row must fit, if the backend has one. */
  readonly maxRowBytes?: number;
  /**
   * For a backend with a response limit (the Data API): lines come back in records of at most this
   * many characters, and sizes are measured as the response's JSON carries them.
   */
  readonly chunkChars?: number;
  readonly maxPageRows: number;
}

function limitsOf(db: SqlClient): PageLimits {
  if (db.maxResponseBytes === undefined) {
    return { pageBytes: DEFAULT_PART_BYTES, maxPageRows: 100_000 };
  }
  const bytes = db.maxResponseBytes - RESPONSE_HEADROOM_BYTES;
  return { pageBytes: bytes, maxRowBytes: bytes, chunkChars: DATA_API_CHUNK_CHARS, maxPageRows: 1000 };
}

export function partKey(prefix: string, tableIndex: number, table: string, part: number): string {
  const dir = `${String(tableIndex + 1).padStart(4, '0')}-${encodeURIComponent(table)}`;
  return `${prefix}/tables/${dir}/part-${String(part).padStart(5, '0')}.copy`;
}

/** SQL pieces that page through one table in key order. */
function pager(schema: string, table: BackupTable, limits: PageLimits) {
  const keyed = table.key !== null;
  const keyCols: readonly BackupColumn[] = table.key ?? [];
  const orderExprs = keyed ? keyCols.map((c) => `t.${quoteIdent(c.name)}`) : ['t.ctid'];
  const keyTexts = keyed ? keyCols.map((c) => `format('%s', t.${quoteIdent(c.name)})`) : ['t.ctid::text'];
  const chunk = limits.chunkChars;
  const rowSize = (line: string, keys: readonly string[]) =>
    chunk === undefined
      ? `octet_length(${line}) + 1`
      : `octet_length(to_json(${line})::text) + (length(${line}) / ${chunk} + 1) * ` +
        `(${RECORD_OVERHEAD_BYTES} + ${keys.map((k) => `octet_length(to_json(${k})::text)`).join(' + ')})`;
  const from = `ONLY ${quoteIdent(schema)}.${quoteIdent(table.name)} AS t`;
  const line = copyLineSql(table.columns, 't');

  /** One page: at most `rows` rows after `after`, cut to `pageBytes` (the first row always kept). */
  function pageSql(after: readonly string[] | null, windowEnd: number | undefined) {
    const params: SqlParam[] = [];
    const conditions: string[] = [];
    if (keyed && after) {
      const placeholders = keyCols.map((c, i) => {
        params.push(after[i] ?? null);
        return `$${params.length}::${c.type}`;
      });
      conditions.push(`(${orderExprs.join(', ')}) > (${placeholders.join(', ')})`);
    }
    if (!keyed) {
      params.push(after?.[0] ?? '(0,0)');
      conditions.push(`t.ctid > $${params.length}::tid`);
      params.push(`(${windowEnd ?? CTID_WINDOW_BLOCKS},0)`);
      conditions.push(`t.ctid < $${params.length}::tid`);
    }
    const rowsParam = params.push(0);
    const bytesParam = params.push(limits.pageBytes);
    const keyAliases = keyTexts.map((_, i) => `k${i}`);
    // On the Data API a line comes back in records of `chunk` characters (numbered by `chunk`).
    const text =
      chunk === undefined
        ? 'c.line, 0 AS chunk'
        : `substr(c.line, ch.i * ${chunk} + 1, ${chunk}) AS line, ch.i AS chunk`;
    const chunks =
      chunk === undefined
        ? ''
        : `CROSS JOIN LATERAL generate_series(0, greatest(length(c.line) - 1, 0) / ${chunk}) AS ch(i)`;
    const sql = `
SELECT c.o, ${text}, c.size, c.fetched, ${keyAliases.map((k) => `c.${k}`).join(', ')} FROM (
  SELECT p.*, sum(p.size) OVER (ORDER BY p.o ROWS UNBOUNDED PRECEDING) AS running, count(*) OVER () AS fetched FROM (
    SELECT q.line, ${rowSize(
      'q.line',
      keyAliases.map((k) => `q.${k}`),
    )} AS size, ${keyAliases.map((k) => `q.${k}`).join(', ')},
           row_number() OVER (ORDER BY ${orderExprs.map((_, i) => `q.o${i}`).join(', ')}) AS o
      FROM (
        SELECT ${line} AS line, ${keyTexts.map((k, i) => `${k} AS k${i}`).join(', ')},
               ${orderExprs.map((e, i) => `${e} AS o${i}`).join(', ')}
          FROM ${from}
         ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
         ORDER BY ${orderExprs.join(', ')} LIMIT $${rowsParam}
      ) q
  ) p
) c ${chunks} WHERE c.running <= $${bytesParam} OR c.o = 1 ORDER BY c.o${chunk === undefined ? '' : ', ch.i'}`;
    return { sql, params, rowsIndex: rowsParam - 1 };
  }

  /** The first row whose size passes `limit`, as its key's text. */
  function oversizedSql() {
    return `SELECT ${keyTexts.map((k, i) => `${k} AS k${i}`).join(', ')}, ${rowSize(line, keyTexts)} AS size
              FROM ${from} WHERE ${rowSize(line, keyTexts)} > $1 LIMIT 1`;
  }

  return { keyed, keyCount: keyTexts.length, pageSql, oversizedSql };
}

function describeKey(table: BackupTable, key: readonly string[]): string {
  if (!table.key) return `row at ctid ${key[0]}`;
  return table.key.map((c, i) => `${c.name}=${key[i]}`).join(', ');
}

/**
 * Refuses, before anything changes, a tenant with a row that no response of the backend could
 * carry (the RDS Data API's 1 MiB): its backup could never be taken. Nothing to check elsewhere.
 */
export async function assertRowsFit(db: SqlClient, schema: string): Promise<void> {
  const limits = limitsOf(db);
  if (limits.maxRowBytes === undefined) return;
  for (const table of await backupTables(db, schema)) {
    const p = pager(schema, table, limits);
    const { rows } = await db.query<Record<string, unknown>>(p.oversizedSql(), [limits.maxRowBytes]);
    const row = rows[0];
    if (!row) continue;
    const key = Array.from({ length: p.keyCount }, (_, i) => String(row[`k${i}`]));
    throw new RowTooLargeError(
      `table ${table.name}, ${describeKey(table, key)}: the row is ${String(row.size)} bytes as a Data API ` +
        `response, over the ${limits.maxRowBytes} a backup page can carry; shrink or split it before deprovisioning`,
    );
  }
}

/**
 * Writes the schema's rows as COPY text parts, page by page in key order (keyset paging: each page
 * starts after the last key read, so the cost per row stays flat), every page under the backend's
 * response limit whatever the row width. Runs in one REPEATABLE READ snapshot per invocation and
 * stops at the deadline, returning a cursor to go on from: a tenant's size is not capped by one
 * invocation's timeout. Parts and progress objects are keyed by position, so a retried invocation
 * rewrites the same objects.
 */
export async function exportSchema(db: SqlClient, options: ExportOptions): Promise<ExportResult> {
  const limits = limitsOf(db);
  const { schema, store, prefix, retention } = options;
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    await applyCopySettings(tx);
    const tables = await backupTables(tx, schema);
    const cursor = options.cursor;
    const progress: { done: BackupManifestTable[]; current: BackupManifestTable | null } = cursor?.progressKey
      ? await readProgress(store, cursor.progressKey, tables, cursor.table)
      : { done: [], current: null };
    let state = {
      table: cursor?.table ?? 0,
      after: cursor?.after ?? null,
      windowEnd: cursor?.windowEnd,
      part: cursor?.part ?? 0,
    };
    const tuning: Tuning = { pageRows: FIRST_PAGE_ROWS, windowBlocks: CTID_WINDOW_BLOCKS };
    let pages = 0;
    let rowsThisSlice = 0;

    while (state.table < tables.length) {
      const table = tables[state.table] as BackupTable;
      const current: BackupManifestTable = progress.current ?? {
        table: table.name,
        columns: table.columns.map((c) => ({ name: c.name, type: c.type })),
        rows: 0,
        bytes: 0,
        sha256: '',
        parts: [],
      };
      progress.current = current;
      const p = pager(schema, table, limits);
      const blocks = p.keyed ? 0 : await heapBlocks(tx, schema, table.name);
      tuning.pageRows = FIRST_PAGE_ROWS;
      tuning.windowBlocks = CTID_WINDOW_BLOCKS;
      let exhausted = false;
      while (!exhausted) {
        if (pages > 0 && Date.now() >= options.deadline) {
          const next: BackupCursor = {
            ...state,
            slice: (cursor?.slice ?? 0) + 1,
            progressKey: `${prefix}/progress/slice-${String((cursor?.slice ?? 0) + 1).padStart(5, '0')}.json`,
          };
          const saved: BackupProgress = { tables: [...progress.done, current] };
          await store.put(next.progressKey as string, JSON.stringify(saved), {
            contentType: 'application/json',
            retention,
          });
          return { done: false, cursor: next, rows: rowsThisSlice };
        }
        if (!p.keyed && blockOf(state.after) >= Math.max(blocks, 1)) break;
        const page =
          tx.copyOut && limits.chunkChars === undefined
            ? await copyPage(tx.copyOut.bind(tx), schema, table, state, tuning)
            : await sqlPage(tx, p, table, state, tuning, limits);
        pages++;
        if (page.rows > 0) {
          state.part += 1;
          const key = partKey(prefix, state.table, table.name, state.part);
          await store.put(key, page.body, {
            contentType: 'text/tab-separated-values; charset=utf-8',
            retention,
          });
          const bytes = Buffer.byteLength(page.body);
          current.parts.push({ key, rows: page.rows, bytes, sha256: partChecksum(page.body) });
          current.rows += page.rows;
          current.bytes += bytes;
          rowsThisSlice += page.rows;
          if (page.lastKey) state.after = page.lastKey;
        }
        if (page.next === 'end') {
          exhausted = true;
        } else if (page.next === 'window') {
          // This window of blocks is read: the next one starts where it ended.
          const end = state.windowEnd ?? CTID_WINDOW_BLOCKS;
          state.after = [`(${end},0)`];
          state.windowEnd = end + tuning.windowBlocks;
        }
      }
      current.sha256 = tableChecksum(current.parts);
      progress.done.push(current);
      progress.current = null;
      state = { table: state.table + 1, after: null, windowEnd: undefined, part: 0 };
    }
    return { done: true, tables: progress.done, sequences: await sequenceStates(tx, schema) };
  });
}

/** What the next page of a table reads, adjusted as pages come back to keep them near their byte size. */
interface Tuning {
  pageRows: number;
  windowBlocks: number;
}

interface PageState {
  readonly after: readonly string[] | null;
  readonly windowEnd?: number | undefined;
}

interface Page {
  /** COPY text, every line ending in a newline. */
  readonly body: string;
  readonly rows: number;
  /** The last row's key (ctid) as text, when the next page goes on after it. */
  readonly lastKey?: string[];
  /** Go on after `lastKey` ('more'), with the next window of blocks ('window'), or the table is read ('end'). */
  readonly next: 'more' | 'window' | 'end';
}

/** The block a ctid cursor points into: `(b,o)` -> b; 0 before the first page. */
function blockOf(after: readonly string[] | null): number {
  const m = /^\((\d+),\d+\)$/.exec(after?.[0] ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * One page through the SQL lines (the Data API, which has no COPY): at most `pageRows` rows after
 * the cursor, cut to the byte budget, lines joined again from the records they came back in.
 */
async function sqlPage(
  tx: SqlExecutor,
  p: ReturnType<typeof pager>,
  table: BackupTable,
  state: PageState,
  tuning: Tuning,
  limits: PageLimits,
): Promise<Page> {
  const q = p.pageSql(state.after, state.windowEnd);
  q.params[q.rowsIndex] = tuning.pageRows;
  const page = await readPage(tx, q.sql, q.params, p.keyCount);
  const first = page.rows[0];
  if (first && limits.maxRowBytes !== undefined && first.size > limits.maxRowBytes) {
    throw new RowTooLargeError(
      `table ${table.name}, ${describeKey(table, first.key)}: the row is ${first.size} bytes, over the ${limits.maxRowBytes} a page can carry`,
    );
  }
  const body = page.rows.map((r) => `${r.line}\n`).join('');
  const lastKey = page.rows.at(-1)?.key;
  const base = { body, rows: page.rows.length, ...(lastKey ? { lastKey } : {}) };
  if (page.rows.length < page.fetched) {
    tuning.pageRows = Math.max(
      1,
      Math.min(limits.maxPageRows, page.rows.length + Math.ceil(page.rows.length / 4)),
    );
    return { ...base, next: 'more' };
  }
  if (page.fetched === tuning.pageRows) {
    tuning.pageRows = Math.min(limits.maxPageRows, tuning.pageRows * 2);
    return { ...base, next: 'more' };
  }
  return { ...base, next: p.keyed ? 'end' : 'window' };
}

/**
 * One page by `COPY (SELECT ...) TO STDOUT` (pg, PGlite): the same bytes the SQL lines give, at
 * the speed of COPY. A keyed table pages by key (the last line's key fields give the cursor); a
 * table without one reads a window of heap blocks per page. Page sizes follow the bytes of the
 * last page toward DEFAULT_PART_BYTES.
 */
async function copyPage(
  copyOut: (statement: string) => Promise<string>,
  schema: string,
  table: BackupTable,
  state: PageState,
  tuning: Tuning,
): Promise<Page> {
  const from = `ONLY ${quoteIdent(schema)}.${quoteIdent(table.name)} AS t`;
  // A table without columns has an empty select list: COPY writes an empty line per row.
  const columns = table.columns.map((c) => `t.${quoteIdent(c.name)}`).join(', ');
  const resize = (current: number, bytes: number, max: number) =>
    bytes === 0
      ? Math.min(max, current * 2)
      : Math.max(1, Math.min(max, Math.floor((current * DEFAULT_PART_BYTES) / bytes)));
  if (table.key) {
    const keys = table.key.map((c) => `t.${quoteIdent(c.name)}`);
    const where = state.after
      ? `WHERE (${keys.join(', ')}) > (${table.key.map((c, i) => `${quoteLiteral(state.after?.[i] ?? '')}::${c.type}`).join(', ')})`
      : '';
    const limit = tuning.pageRows;
    const body = await copyOut(
      `COPY (SELECT ${columns} FROM ${from} ${where} ORDER BY ${keys.join(', ')} LIMIT ${limit}) TO STDOUT`,
    );
    const rows = countLines(body);
    tuning.pageRows = resize(limit, Buffer.byteLength(body), 1_000_000);
    if (rows === 0) return { body, rows, next: 'end' };
    const lastLine = body.slice(body.lastIndexOf('\n', body.length - 2) + 1, -1).split('\t');
    const positions = table.key.map((k) => table.columns.findIndex((c) => c.name === k.name));
    const lastKey = positions.map((i) => decodeField(lastLine[i] ?? '') ?? '');
    return { body, rows, lastKey, next: rows < limit ? 'end' : 'more' };
  }
  const lo = blockOf(state.after);
  const hi = state.windowEnd ?? lo + tuning.windowBlocks;
  const body = await copyOut(
    `COPY (SELECT ${columns} FROM ${from} WHERE t.ctid > '(${lo},0)'::tid AND t.ctid < '(${hi},0)'::tid ORDER BY t.ctid) TO STDOUT`,
  );
  tuning.windowBlocks = resize(hi - lo, Buffer.byteLength(body), 1 << 20);
  return { body, rows: countLines(body), next: 'window' };
}

interface PageRow {
  readonly line: string;
  readonly size: number;
  /** The row's key as text (its ctid for a table without a primary key). */
  readonly key: string[];
}

/** One page's rows, their lines put back together from the records they came in. */
async function readPage(
  tx: SqlExecutor,
  sql: string,
  params: readonly SqlParam[],
  keyCount: number,
): Promise<{ rows: PageRow[]; fetched: number }> {
  const { rows: records } = await tx.query<Record<string, unknown>>(sql, params);
  const rows: PageRow[] = [];
  let at: unknown;
  for (const r of records) {
    if (r.o === at && rows.length > 0) {
      const row = rows[rows.length - 1] as { line: string };
      row.line += String(r.line);
      continue;
    }
    at = r.o;
    rows.push({
      line: String(r.line),
      size: Number(r.size),
      key: Array.from({ length: keyCount }, (_, i) => String(r[`k${i}`])),
    });
  }
  // How many rows the LIMIT read, before the byte budget cut the page.
  return { rows, fetched: Number(records[0]?.fetched ?? 0) };
}

async function heapBlocks(db: SqlExecutor, schema: string, table: string): Promise<number> {
  const { rows } = await db.query<{ blocks: number | string }>(
    `SELECT pg_relation_size(to_regclass($1)) / current_setting('block_size')::bigint AS blocks`,
    [`${quoteIdent(schema)}.${quoteIdent(table)}`],
  );
  return Number(rows[0]?.blocks ?? 0);
}

async function readProgress(
  store: BlobStore,
  key: string,
  tables: readonly BackupTable[],
  at: number,
): Promise<{ done: BackupManifestTable[]; current: BackupManifestTable | null }> {
  const saved = parseOrThrow(BackupProgressSchema, JSON.parse(await store.get(key)), 'backup progress.');
  const done = saved.tables.slice(0, at);
  const current = saved.tables[at] ?? null;
  if (current && current.table !== tables[at]?.name) {
    throw new BackupChangedError(`table ${current.table} of the backup in progress is gone`);
  }
  return { done, current };
}

/** Every sequence's position, as text: restored with setval(last_value, is_called). */
async function sequenceStates(db: SqlExecutor, schema: string): Promise<BackupManifestSequence[]> {
  const names = await backupSequences(db, schema);
  if (names.length === 0) return [];
  const { rows } = await db.query<{ sequence: string; last_value: string; is_called: boolean }>(
    names
      .map(
        (n) =>
          `SELECT ${quoteLiteral(n)}::text AS sequence, last_value::text AS last_value, is_called FROM ${quoteIdent(schema)}.${quoteIdent(n)}`,
      )
      .join(' UNION ALL '),
  );
  return rows.map((r) => ({ sequence: r.sequence, lastValue: r.last_value, isCalled: r.is_called }));
}
