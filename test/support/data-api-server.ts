import { createHash, createHmac, pbkdf2Sync, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { splitSqlStatements } from '../../shared/sql/split';

/**
 * An RDS Data API double over Postgres, speaking the restJson protocol the real
 * `@aws-sdk/client-rds-data` client speaks: POST /Execute, /BatchExecute, /BeginTransaction,
 * /CommitTransaction, /RollbackTransaction. It runs over a Postgres server (a pg Pool; a
 * transaction pins one client) or over PGlite (one session: transactions are serialised by a mutex).
 *
 * Like the service: named parameters (`:name`) with typed values and typeHint (a stringValue is a
 * varchar), one statement per call, typed result fields and columnMetadata, formatRecordsAs JSON,
 * SQL errors as BadRequestException `ERROR: <message>; SQLState: <code>`, the 1 MiB response and
 * 64 KB row limits, transactions that expire when idle, statement timeouts. It counts calls per operation and can
 * inject faults: a resuming cluster, or a connection dropped before or after the statement ran.
 *
 * Like the service, it can log in as the user a secret names (`logins`, Postgres backend only): the
 * secret's password is checked against the role's SCRAM-SHA-256 verifier in pg_authid (the only
 * encryption the service accepts on Aurora PostgreSQL 14+), so a wrong or stale password fails even
 * on a server whose pg_hba.conf trusts every local connection.
 */

export type DataApiOperation =
  | 'ExecuteStatement'
  | 'BatchExecuteStatement'
  | 'BeginTransaction'
  | 'CommitTransaction'
  | 'RollbackTransaction';

const ROUTES: Record<string, DataApiOperation> = {
  '/Execute': 'ExecuteStatement',
  '/BatchExecute': 'BatchExecuteStatement',
  '/BeginTransaction': 'BeginTransaction',
  '/CommitTransaction': 'CommitTransaction',
  '/RollbackTransaction': 'RollbackTransaction',
};

export interface DataApiFault {
  /**
   * - `resuming`: answer DatabaseResumingException, as a paused Aurora Serverless v2 cluster does;
   * - `drop-before`: destroy the connection without running anything;
   * - `drop-after`: run the call (and commit it, outside a transaction), then destroy the
   *   connection: the response is lost.
   */
  readonly kind: 'resuming' | 'drop-before' | 'drop-after';
  /** How many matching calls it hits. @default 1 */
  readonly times?: number;
  readonly operation?: DataApiOperation;
  /** Only calls whose SQL matches. */
  readonly sql?: RegExp;
}

export type DataApiServerBackend =
  | { readonly kind: 'postgres'; readonly connectionString: string; readonly maxConnections?: number }
  | { readonly kind: 'pglite'; readonly db?: PGlite };

/** The credentials a Secrets Manager secret holds, as the service reads them. */
export interface DataApiLogin {
  readonly username: string;
  readonly password: string;
}

export interface DataApiServerOptions {
  readonly backend: DataApiServerBackend;
  /**
   * What each secret holds, read at every call as the service reads the secret (so a test can
   * change a password). A secret it maps to a login connects as that user after the password
   * check; any other secret connects as the backend's own user. @default - every secret is the backend's user
   */
  readonly logins?: (secretArn: string) => DataApiLogin | undefined;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** A transaction no call used for this long is rolled back and forgotten. @default 180000 (3 minutes, as the service) */
  readonly transactionIdleTimeoutMs?: number;
  /** The call answers StatementTimeoutException after this long. @default 45000 (as the service) */
  readonly statementTimeoutMs?: number;
  /** @default 1 MiB (as the service) */
  readonly maxResponseBytes?: number;
  /** The most bytes one row of a result may hold. @default 64 KiB (as the service) */
  readonly maxRowBytes?: number;
}

interface RawResult {
  readonly fields: readonly { readonly name: string; readonly dataTypeID: number }[];
  readonly rows: readonly (readonly (string | null)[])[];
  readonly rowCount: number;
}

interface Session {
  run(sql: string, values: readonly unknown[]): Promise<RawResult>;
  /** pg's backend pid, to cancel a statement that timed out. */
  readonly pid?: number;
  release(broken?: boolean): void;
}

interface SessionSource {
  /** A session as the backend's own user, or as `login` after its password is checked. */
  acquire(login?: DataApiLogin): Promise<Session>;
  cancel(pid: number): Promise<void>;
  typeInfo(oids: readonly number[]): Promise<Map<number, PgType>>;
  close(): Promise<void>;
}

interface PgType {
  readonly name: string;
  readonly category: string;
  readonly element: number;
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const badRequest = (message: string) => new ServiceError('BadRequestException', 400, message);

function sqlError(error: unknown): ServiceError {
  const e = error as { message?: string; code?: string; detail?: string; hint?: string; position?: string };
  let text = `ERROR: ${e.message ?? String(error)}`;
  if (e.detail) text += `\n  Detail: ${e.detail}`;
  if (e.hint) text += `\n  Hint: ${e.hint}`;
  if (e.position) text += `\n  Position: ${e.position}`;
  return badRequest(e.code ? `${text}; SQLState: ${e.code}` : text);
}

async function pgSource(options: {
  connectionString: string;
  maxConnections?: number;
}): Promise<SessionSource> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    options: '-c TimeZone=UTC',
  });
  pool.on('error', () => {});
  const raw = { getTypeParser: () => (value: string) => value };
  const types = new Map<number, PgType>();
  // One pool per login; each checked against pg_authid before it is used, as password auth would.
  const loginPools = new Map<string, pg.Pool>();
  const poolFor = async (login: DataApiLogin | undefined): Promise<pg.Pool> => {
    if (!login) return pool;
    await checkPassword(pool, login);
    const key = `${login.username}\0${login.password}`;
    let own = loginPools.get(key);
    if (!own) {
      const url = new URL(options.connectionString);
      url.username = encodeURIComponent(login.username);
      url.password = encodeURIComponent(login.password);
      own = new pg.Pool({ connectionString: url.toString(), max: 2, options: '-c TimeZone=UTC' });
      own.on('error', () => {});
      loginPools.set(key, own);
    }
    return own;
  };
  return {
    async acquire(login) {
      const client = await (await poolFor(login)).connect();
      const pidRow = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return {
        pid: pidRow.rows[0]?.pid,
        async run(sql, values) {
          const r = await client.query({ text: sql, values: [...values], rowMode: 'array', types: raw });
          return {
            fields: (r.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
            rows: (r.rows ?? []) as (string | null)[][],
            rowCount: r.rowCount ?? 0,
          };
        },
        release: (broken) => client.release(broken),
      };
    },
    async cancel(pid) {
      await pool.query('SELECT pg_cancel_backend($1)', [pid]);
    },
    async typeInfo(oids) {
      const missing = oids.filter((o) => !types.has(o));
      if (missing.length > 0) {
        const { rows } = await pool.query<{
          oid: number;
          typname: string;
          typcategory: string;
          typelem: number;
        }>(
          'SELECT oid::int AS oid, typname, typcategory, typelem::int AS typelem FROM pg_type WHERE oid = ANY($1::oid[])',
          [missing],
        );
        for (const r of rows)
          types.set(r.oid, { name: r.typname, category: r.typcategory, element: r.typelem });
      }
      return types;
    },
    close: async () => {
      await Promise.all([...loginPools.values()].map((p) => p.end()));
      await pool.end();
    },
  };
}

/**
 * Password authentication as the service does it: the role must exist, may log in, and have a
 * SCRAM-SHA-256 verifier the password matches (RFC 5802: StoredKey = H(HMAC(SaltedPassword,
 * "Client Key"))). Skipped when the backend's user may not read pg_authid (not a superuser).
 */
async function checkPassword(admin: pg.Pool, login: DataApiLogin): Promise<void> {
  let row: { rolcanlogin: boolean; rolpassword: string | null } | undefined;
  try {
    ({
      rows: [row],
    } = await admin.query<{ rolcanlogin: boolean; rolpassword: string | null }>(
      'SELECT rolcanlogin, rolpassword FROM pg_authid WHERE rolname = $1',
      [login.username],
    ));
  } catch (error) {
    if ((error as { code?: string }).code === '42501') return;
    throw error;
  }
  const refused = badRequest(
    `FATAL: password authentication failed for user "${login.username}"; SQLState: 28P01`,
  );
  if (!row?.rolcanlogin || !row.rolpassword) throw refused;
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(row.rolpassword);
  if (!m) throw refused;
  const salted = pbkdf2Sync(
    login.password,
    Buffer.from(m[2] as string, 'base64'),
    Number(m[1]),
    32,
    'sha256',
  );
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const stored = createHash('sha256').update(clientKey).digest();
  const expected = Buffer.from(m[3] as string, 'base64');
  if (expected.length !== stored.length || !timingSafeEqual(expected, stored)) throw refused;
}

async function pgliteSource(given: PGlite | undefined): Promise<SessionSource> {
  const db = given ?? (await PGlite.create());
  await db.exec("SET TIME ZONE 'UTC'");
  const { rows } = await db.query<{ oid: number; typname: string; typcategory: string; typelem: number }>(
    'SELECT oid::int AS oid, typname, typcategory, typelem::int AS typelem FROM pg_type',
  );
  const types = new Map(
    rows.map((r) => [r.oid, { name: r.typname, category: r.typcategory, element: r.typelem }]),
  );
  // Every value as the text Postgres sent: the server types it itself, as the service does.
  const parsers = Object.fromEntries(rows.map((r) => [r.oid, (v: string) => v]));
  // One session: whoever holds it (a call, or a transaction from Begin to Commit) runs alone.
  let tail: Promise<void> = Promise.resolve();
  return {
    async acquire(login) {
      if (login) throw badRequest('per-secret logins need the postgres backend (PGlite has one user)');
      let unlock = () => {};
      const previous = tail;
      tail = new Promise<void>((resolve) => {
        unlock = resolve;
      });
      await previous;
      return {
        async run(sql, values) {
          const r = await db.query<unknown[]>(sql, [...values], { rowMode: 'array', parsers });
          return {
            fields: r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
            rows: r.rows as (string | null)[][],
            rowCount: r.affectedRows ?? 0,
          };
        },
        release: () => unlock(),
      };
    },
    async cancel() {
      // One WASM session cannot be interrupted from outside.
    },
    async typeInfo() {
      return types;
    },
    close: async () => {
      if (!given && !db.closed) await db.close();
    },
  };
}

type Field = Record<string, unknown>;
interface SqlParameter {
  readonly name?: string;
  readonly value?: Field;
  readonly typeHint?: string;
}

const HINT_TYPES: Record<string, string> = {
  DATE: 'date',
  DECIMAL: 'numeric',
  JSON: 'json',
  TIME: 'time',
  TIMESTAMP: 'timestamp',
  UUID: 'uuid',
};

/** `:name` → `$k::type` with the value as text; literals, identifiers and comments are left alone. */
export function bindNamedParameters(
  sql: string,
  parameters: readonly SqlParameter[],
): { text: string; values: unknown[] } {
  const byName = new Map<string, SqlParameter>();
  for (const p of parameters) {
    if (!p.name) throw badRequest('Parameter name is required');
    byName.set(p.name, p);
  }
  const values: unknown[] = [];
  const slots = new Map<string, number>();
  let text = '';
  let i = 0;
  const n = sql.length;
  const copyUntil = (end: number) => {
    text += sql.slice(i, end);
    i = end;
  };
  while (i < n) {
    const c = sql[i];
    if (c === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i);
      copyUntil(eol === -1 ? n : eol + 1);
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      copyUntil(end === -1 ? n : end + 2);
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n) {
        if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else if (c === "'" && sql[j] === '\\' && /[eE]/.test(sql[i - 1] ?? '')) j += 2;
        else j++;
      }
      copyUntil(Math.min(n, j + 1));
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][\w]*)?\$/.exec(sql.slice(i, i + 64))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        copyUntil(close === -1 ? n : close + tag.length);
      } else copyUntil(i + 1);
    } else if (c === ':' && sql[i + 1] === ':') {
      copyUntil(i + 2);
    } else if (c === ':' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const name = /^:([A-Za-z_]\w*)/.exec(sql.slice(i))?.[1] ?? '';
      const p = byName.get(name);
      if (!p) throw badRequest(`No value specified for parameter: ${name}`);
      let slot = slots.get(name);
      if (slot === undefined) {
        const bound = bindValue(p);
        values.push(bound.value);
        slot = values.length;
        slots.set(name, slot);
        text += bound.cast ? `$${slot}::${bound.cast}` : `$${slot}`;
      } else {
        const bound = bindValue(p);
        text += bound.cast ? `$${slot}::${bound.cast}` : `$${slot}`;
      }
      i += name.length + 1;
    } else copyUntil(i + 1);
  }
  return { text, values };
}

function bindValue(p: SqlParameter): { value: unknown; cast: string | undefined } {
  const v = p.value ?? {};
  const hinted = p.typeHint ? HINT_TYPES[p.typeHint] : undefined;
  if (p.typeHint && !hinted) throw badRequest(`Invalid typeHint: ${p.typeHint}`);
  if (v.isNull === true) return { value: null, cast: hinted };
  if (typeof v.booleanValue === 'boolean') return { value: v.booleanValue ? 't' : 'f', cast: 'bool' };
  if (typeof v.longValue === 'number') return { value: String(v.longValue), cast: 'int8' };
  if (typeof v.doubleValue === 'number') return { value: String(v.doubleValue), cast: 'float8' };
  if (typeof v.stringValue === 'string') return { value: v.stringValue, cast: hinted ?? 'varchar' };
  if (typeof v.blobValue === 'string') return { value: Buffer.from(v.blobValue, 'base64'), cast: 'bytea' };
  if (v.arrayValue !== undefined) throw badRequest('Array parameters are not supported.');
  throw badRequest(`Parameter ${p.name} has no value`);
}

/** Postgres array text (`{1,2,"a b",NULL}`, nested) as nested arrays of element texts. */
function parseArrayText(text: string): unknown[] {
  let i = 0;
  const parse = (): unknown[] => {
    const out: unknown[] = [];
    i++; // {
    while (i < text.length) {
      const c = text[i];
      if (c === '}') {
        i++;
        return out;
      }
      if (c === ',') {
        i++;
        continue;
      }
      if (c === '{') {
        out.push(parse());
        continue;
      }
      if (c === '"') {
        let s = '';
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i];
          i++;
        }
        i++;
        out.push(s);
        continue;
      }
      let j = i;
      while (j < text.length && text[j] !== ',' && text[j] !== '}') j++;
      const s = text.slice(i, j).trim();
      out.push(s === 'NULL' ? null : s);
      i = j;
    }
    return out;
  };
  const start = text.indexOf('{');
  if (start === -1) return [];
  i = start;
  return parse();
}

const LONG_TYPES = new Set(['int2', 'int4', 'int8', 'oid']);
const DOUBLE_TYPES = new Set(['float4', 'float8']);

/** JDBC type codes, as the service reports them in columnMetadata.type. */
const JDBC_TYPES: Record<string, number> = {
  bool: -7,
  int2: 5,
  int4: 4,
  int8: -5,
  oid: -5,
  float4: 7,
  float8: 8,
  numeric: 2,
  bytea: -2,
  date: 91,
  time: 92,
  timestamp: 93,
  timestamptz: 93,
  varchar: 12,
  text: 12,
  name: 12,
  bpchar: 1,
};

interface ResultOptions {
  readonly longReturnType?: string;
  readonly decimalReturnType?: string;
}

function scalarField(text: string | null, type: PgType, options: ResultOptions): Field {
  if (text === null) return { isNull: true };
  if (type.name === 'bool') return { booleanValue: text === 't' };
  if (LONG_TYPES.has(type.name)) {
    return options.longReturnType === 'STRING' ? { stringValue: text } : { longValue: Number(text) };
  }
  if (DOUBLE_TYPES.has(type.name)) return { doubleValue: Number(text) };
  if (type.name === 'numeric' && options.decimalReturnType === 'DOUBLE_OR_LONG') {
    return /^-?\d+$/.test(text) ? { longValue: Number(text) } : { doubleValue: Number(text) };
  }
  if (type.name === 'bytea')
    return { blobValue: Buffer.from(text.replace(/^\\x/, ''), 'hex').toString('base64') };
  if (type.name === 'timestamptz') return { stringValue: text.replace(/[+-]\d\d(?::\d\d)?$/, '') };
  return { stringValue: text };
}

function arrayValue(items: readonly unknown[], element: PgType, options: ResultOptions): Field {
  if (items.some(Array.isArray)) {
    return { arrayValues: items.map((x) => arrayValue(Array.isArray(x) ? x : [x], element, options)) };
  }
  const texts = items as (string | null)[];
  if (element.name === 'bool') return { booleanValues: texts.map((t) => (t === null ? null : t === 't')) };
  if (LONG_TYPES.has(element.name) && options.longReturnType !== 'STRING') {
    return { longValues: texts.map((t) => (t === null ? null : Number(t))) };
  }
  if (DOUBLE_TYPES.has(element.name))
    return { doubleValues: texts.map((t) => (t === null ? null : Number(t))) };
  return { stringValues: texts };
}

function toField(
  text: string | null,
  type: PgType,
  types: Map<number, PgType>,
  options: ResultOptions,
): Field {
  if (text !== null && type.category === 'A') {
    const element = types.get(type.element) ?? { name: 'text', category: 'S', element: 0 };
    return { arrayValue: arrayValue(parseArrayText(text), element, options) };
  }
  return scalarField(text, type, options);
}

function columnMetadata(name: string, type: PgType) {
  const numeric = LONG_TYPES.has(type.name) || DOUBLE_TYPES.has(type.name) || type.name === 'numeric';
  return {
    name,
    label: name,
    typeName: type.name,
    type: type.category === 'A' ? 2003 : (JDBC_TYPES[type.name] ?? 1111),
    schemaName: '',
    tableName: '',
    isAutoIncrement: false,
    isSigned: numeric,
    isCurrency: false,
    isCaseSensitive: !numeric && type.name !== 'bool',
    nullable: 2,
    precision: 0,
    scale: 0,
    arrayBaseColumnType: 0,
  };
}

function plainValue(field: Field): unknown {
  if (field.isNull) return null;
  if (field.arrayValue) {
    const a = field.arrayValue as Field;
    if (a.arrayValues) return (a.arrayValues as Field[]).map((x) => plainValue({ arrayValue: x }));
    return a.stringValues ?? a.longValues ?? a.doubleValues ?? a.booleanValues ?? [];
  }
  return field.stringValue ?? field.longValue ?? field.doubleValue ?? field.booleanValue ?? field.blobValue;
}

interface OpenTransaction {
  readonly id: string;
  readonly session: Session;
  timer: NodeJS.Timeout;
  busy: boolean;
}

export interface DataApiCall {
  readonly operation: DataApiOperation;
  readonly sql?: string;
  /** The call's parameters as sent (`[{ name, value, typeHint? }]`), when it had some. */
  readonly parameters?: readonly unknown[];
  readonly secretArn?: string;
}

export class DataApiServer {
  private readonly counts = new Map<DataApiOperation, number>();
  private log: DataApiCall[] = [];
  private readonly transactions = new Map<string, OpenTransaction>();
  private readonly ended = new Map<string, string>();
  private faults: (DataApiFault & { left: number })[] = [];
  private readonly idleTimeoutMs: number;
  private readonly statementTimeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly maxRowBytes: number;
  private readonly logins: DataApiServerOptions['logins'];

  private constructor(
    private readonly http: Server,
    private readonly source: SessionSource,
    readonly endpoint: string,
    options: DataApiServerOptions,
  ) {
    this.idleTimeoutMs = options.transactionIdleTimeoutMs ?? 180_000;
    this.statementTimeoutMs = options.statementTimeoutMs ?? 45_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    this.maxRowBytes = options.maxRowBytes ?? 64 * 1024;
    this.logins = options.logins;
  }

  static async start(options: DataApiServerOptions): Promise<DataApiServer> {
    const source =
      options.backend.kind === 'postgres'
        ? await pgSource(options.backend)
        : await pgliteSource(options.backend.db);
    let server: DataApiServer | undefined;
    const http = createServer((req, res) => {
      void server?.handle(req, res);
    });
    // The client keeps connections alive; never close one under it while it is idle.
    http.keepAliveTimeout = 10 * 60_000;
    await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    server = new DataApiServer(http, source, `http://127.0.0.1:${port}`, options);
    return server;
  }

  /** Calls per operation since the start or the last reset, faulted ones included. */
  callCounts(): Record<DataApiOperation, number> {
    const out = {} as Record<DataApiOperation, number>;
    for (const op of Object.values(ROUTES)) out[op] = this.counts.get(op) ?? 0;
    return out;
  }

  totalCalls(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  /** Every call since the start or the last reset, in order. */
  calls(): readonly DataApiCall[] {
    return [...this.log];
  }

  resetCounts(): void {
    this.counts.clear();
    this.log = [];
  }

  inject(fault: DataApiFault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Transactions currently open (not committed, rolled back or expired). */
  openTransactions(): number {
    return this.transactions.size;
  }

  async stop(): Promise<void> {
    for (const tx of [...this.transactions.values()]) await this.endTransaction(tx, 'ROLLBACK', 'stopped');
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await this.source.close();
  }

  private takeFault(operation: DataApiOperation, sql: string | undefined): DataApiFault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.left > 0 &&
        (!f.operation || f.operation === operation) &&
        (!f.sql || (sql !== undefined && f.sql.test(sql))),
    );
    if (!fault) return undefined;
    fault.left--;
    this.faults = this.faults.filter((f) => f.left > 0);
    return fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const operation = req.method === 'POST' ? ROUTES[req.url?.split('?')[0] ?? ''] : undefined;
    if (!operation) {
      this.send(
        res,
        new ServiceError('UnknownOperationException', 404, `no route for ${req.method} ${req.url}`),
      );
      return;
    }
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      this.send(res, new ServiceError('SerializationException', 400, 'request body is not JSON'));
      return;
    }
    const sql = typeof body.sql === 'string' ? body.sql : undefined;
    this.log.push({
      operation,
      ...(sql === undefined ? {} : { sql }),
      ...(Array.isArray(body.parameters) ? { parameters: body.parameters as unknown[] } : {}),
      ...(typeof body.secretArn === 'string' ? { secretArn: body.secretArn } : {}),
    });
    const fault = this.takeFault(operation, sql);
    if (fault?.kind === 'resuming') {
      this.send(
        res,
        new ServiceError(
          'DatabaseResumingException',
          400,
          `The Aurora DB instance ${String(body.resourceArn ?? '')} is resuming after being auto-paused. Please wait a few seconds and try again.`,
        ),
      );
      return;
    }
    if (fault?.kind === 'drop-before') {
      req.socket.destroy();
      return;
    }
    let result: unknown;
    try {
      result = await this.dispatch(operation, body);
    } catch (error) {
      if (fault?.kind === 'drop-after') req.socket.destroy();
      else this.send(res, error instanceof ServiceError ? error : sqlError(error));
      return;
    }
    if (fault?.kind === 'drop-after') {
      req.socket.destroy();
      return;
    }
    const records = (result as { records?: unknown[] } | undefined)?.records ?? [];
    if (records.some((record) => Buffer.byteLength(JSON.stringify(record)) > this.maxRowBytes)) {
      this.send(res, badRequest('Database returned a row larger than the allowed row size limit'));
      return;
    }
    const json = JSON.stringify(result);
    if (Buffer.byteLength(json) > this.maxResponseBytes) {
      this.send(res, badRequest('Database returned more than the allowed response size limit'));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    res.end(json);
  }

  private send(res: ServerResponse, error: ServiceError): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(error.status, {
      'content-type': 'application/json',
      'x-amzn-errortype': error.type,
      'x-amzn-requestid': randomUUID(),
    });
    res.end(JSON.stringify({ message: error.message, ...error.extra }));
  }

  private dispatch(operation: DataApiOperation, body: Record<string, unknown>): Promise<unknown> {
    for (const key of ['resourceArn', 'secretArn'] as const) {
      const v = body[key];
      if (typeof v !== 'string' || !v.startsWith('arn:')) {
        throw badRequest(`${key} is required and must be an ARN`);
      }
    }
    switch (operation) {
      case 'ExecuteStatement':
        return this.execute(body);
      case 'BatchExecuteStatement':
        return this.batchExecute(body);
      case 'BeginTransaction':
        return this.begin(body);
      case 'CommitTransaction':
        return this.finish(body, 'COMMIT');
      case 'RollbackTransaction':
        return this.finish(body, 'ROLLBACK');
    }
  }

  private requireDatabase(body: Record<string, unknown>): void {
    if (typeof body.database !== 'string' || body.database === '') throw badRequest('database is required');
  }

  private transactionFor(id: unknown): OpenTransaction {
    const tx = typeof id === 'string' ? this.transactions.get(id) : undefined;
    if (!tx) {
      const why = typeof id === 'string' ? this.ended.get(id) : undefined;
      throw new ServiceError(
        'TransactionNotFoundException',
        404,
        `Transaction ${String(id)} is not found${why ? `: ${why}` : ''}`,
      );
    }
    if (tx.busy) throw badRequest(`Transaction ${tx.id} is busy with another call`);
    this.touch(tx);
    return tx;
  }

  private touch(tx: OpenTransaction): void {
    clearTimeout(tx.timer);
    tx.timer = setTimeout(() => {
      void this.endTransaction(tx, 'ROLLBACK', 'transaction may be expired');
    }, this.idleTimeoutMs);
    tx.timer.unref();
  }

  private async endTransaction(
    tx: OpenTransaction,
    command: 'COMMIT' | 'ROLLBACK',
    why: string,
  ): Promise<void> {
    if (!this.transactions.delete(tx.id)) return;
    clearTimeout(tx.timer);
    this.ended.set(tx.id, why);
    let broken = false;
    try {
      await tx.session.run(command, []);
    } catch (error) {
      broken = true;
      if (command === 'COMMIT') {
        await tx.session.run('ROLLBACK', []).catch(() => {});
        tx.session.release(broken);
        throw error;
      }
    }
    tx.session.release(broken);
  }

  /** The login the call's secret holds, if the server was given logins and this secret is one. */
  private loginOf(body: Record<string, unknown>): DataApiLogin | undefined {
    return this.logins?.(String(body.secretArn));
  }

  private async begin(body: Record<string, unknown>): Promise<unknown> {
    this.requireDatabase(body);
    const session = await this.source.acquire(this.loginOf(body));
    try {
      await session.run('BEGIN', []);
    } catch (error) {
      session.release(true);
      throw error;
    }
    const id = randomUUID();
    const tx: OpenTransaction = { id, session, busy: false, timer: setTimeout(() => {}, 0) };
    this.transactions.set(id, tx);
    this.touch(tx);
    return { transactionId: id };
  }

  private async finish(body: Record<string, unknown>, command: 'COMMIT' | 'ROLLBACK'): Promise<unknown> {
    const tx = this.transactionFor(body.transactionId);
    tx.busy = true;
    await this.endTransaction(
      tx,
      command,
      command === 'COMMIT' ? 'transaction committed' : 'transaction rolled back',
    );
    return { transactionStatus: command === 'COMMIT' ? 'Transaction Committed' : 'Rollback Complete' };
  }

  /** Runs one statement in the transaction or, without one, alone in autocommit. */
  private async withSession<T>(
    transactionId: unknown,
    fn: (session: Session) => Promise<T>,
    continueAfterTimeout: boolean,
    login?: DataApiLogin,
  ): Promise<T> {
    const tx = transactionId === undefined ? undefined : this.transactionFor(transactionId);
    const session = tx ? tx.session : await this.source.acquire(login);
    if (tx) {
      tx.busy = true;
      clearTimeout(tx.timer);
    }
    let broken = false;
    const work = fn(session).catch((error: unknown) => {
      broken = !(error as { code?: string })?.code;
      throw error;
    });
    const done = work.finally(() => {
      if (tx) {
        tx.busy = false;
        this.touch(tx);
      } else session.release(broken);
    });
    done.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (!continueAfterTimeout && session.pid !== undefined)
          void this.source.cancel(session.pid).catch(() => {});
        reject(
          new ServiceError('StatementTimeoutException', 400, 'Request timed out', {
            dbConnectionId: session.pid ?? 0,
          }),
        );
      }, this.statementTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async execute(body: Record<string, unknown>): Promise<unknown> {
    if (body.transactionId === undefined) this.requireDatabase(body);
    const sql = typeof body.sql === 'string' ? body.sql : '';
    if (sql.trim() === '') throw badRequest('sql is required');
    if (splitSqlStatements(sql).length > 1) {
      // What Postgres itself answers when a prepared statement holds more than one command.
      throw badRequest('ERROR: cannot insert multiple commands into a prepared statement; SQLState: 42601');
    }
    const { text, values } = bindNamedParameters(sql, (body.parameters ?? []) as SqlParameter[]);
    const options = (body.resultSetOptions ?? {}) as ResultOptions;
    const raw = await this.withSession(
      body.transactionId,
      (session) => session.run(text, values),
      body.continueAfterTimeout === true,
      this.loginOf(body),
    );
    const types = await this.source.typeInfo([...new Set(raw.fields.map((f) => f.dataTypeID))]);
    const typeOf = (oid: number) => types.get(oid) ?? { name: 'unknown', category: 'X', element: 0 };
    const hasRows = raw.fields.length > 0;
    const records = raw.rows.map((row) =>
      row.map((v, i) => toField(v, typeOf(raw.fields[i]?.dataTypeID ?? 0), types, options)),
    );
    const out: Record<string, unknown> = {
      numberOfRecordsUpdated: hasRows ? 0 : raw.rowCount,
      generatedFields: [],
    };
    if (body.formatRecordsAs === 'JSON') {
      out.formattedRecords = JSON.stringify(
        records.map((r) =>
          Object.fromEntries(r.map((f, i) => [raw.fields[i]?.name ?? `${i}`, plainValue(f)])),
        ),
      );
    } else if (hasRows) {
      out.records = records;
    }
    if (body.includeResultMetadata === true && hasRows) {
      out.columnMetadata = raw.fields.map((f) => columnMetadata(f.name, typeOf(f.dataTypeID)));
    }
    return out;
  }

  private async batchExecute(body: Record<string, unknown>): Promise<unknown> {
    if (body.transactionId === undefined) this.requireDatabase(body);
    const sql = typeof body.sql === 'string' ? body.sql : '';
    const sets = (body.parameterSets ?? [[]]) as SqlParameter[][];
    const bound = sets.map((set) => bindNamedParameters(sql, set));
    await this.withSession(
      body.transactionId,
      async (session) => {
        const own = body.transactionId === undefined;
        if (own) await session.run('BEGIN', []);
        try {
          for (const b of bound) await session.run(b.text, b.values);
          if (own) await session.run('COMMIT', []);
        } catch (error) {
          if (own) await session.run('ROLLBACK', []).catch(() => {});
          throw error;
        }
      },
      true,
      this.loginOf(body),
    );
    return { updateResults: bound.map(() => ({ generatedFields: [] })) };
  }
}
