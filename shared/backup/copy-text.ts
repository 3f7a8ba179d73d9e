/**
 * PostgreSQL's COPY text format (the default of `COPY ... TO` and of `psql \copy`), which is the
 * format of every backup part: one line per row ending in `\n`, fields separated by a tab, `\N` for
 * NULL, and in a value a backslash, backspace, form feed, newline, carriage return, tab and
 * vertical tab written as `\\`, `\b`, `\f`, `\n`, `\r`, `\t` and `\v`. Each value is the text its
 * type's output function gives, so the type's input function reads back exactly the same value:
 * no value ever passes through a JavaScript number.
 *
 * The lines are built by SQL (`copyLineSql`) so that every backend, the RDS Data API included,
 * produces the same bytes `COPY ... TO STDOUT` would.
 */
import { DatabaseError } from '../errors';
import { quoteIdent } from '../identifiers';

/** What COPY writes for NULL. */
export const COPY_NULL = '\\N';

const ESCAPES: readonly (readonly [string, string])[] = [
  ['\\', '\\\\'],
  ['\b', '\\b'],
  ['\f', '\\f'],
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t'],
  ['\v', '\\v'],
];
const UNESCAPES: Readonly<Record<string, string>> = Object.fromEntries(
  ESCAPES.map(([raw, escaped]) => [escaped[1] as string, raw]),
);

/** Type OIDs whose text output never holds a backslash or a control character: no escaping needed. */
const PLAIN_OUTPUT_TYPES = new Set([
  16, // bool
  20, // int8
  21, // int2
  23, // int4
  26, // oid
  650, // cidr
  700, // float4
  701, // float8
  774, // macaddr8
  829, // macaddr
  869, // inet
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1186, // interval
  1266, // timetz
  1700, // numeric
  2950, // uuid
  3220, // pg_lsn
]);

export interface CopyColumn {
  readonly name: string;
  /** The column's type OID (pg_attribute.atttypid). */
  readonly typeOid: number;
}

/** One value's field in SQL: its output-function text, escaped as COPY does, or `\N`. */
function fieldSql(column: CopyColumn, alias: string): string {
  const ref = `${alias}.${quoteIdent(column.name)}`;
  // format('%s') calls the type's output function, exactly as COPY does (a ::text cast may not:
  // true::text is 'true', inet::text adds the netmask, char(n)::text drops the padding).
  let text = `format('%s', ${ref})`;
  const plain = PLAIN_OUTPUT_TYPES.has(column.typeOid);
  if (!plain) {
    for (const [raw, escaped] of ESCAPES) {
      text = `replace(${text}, chr(${raw.charCodeAt(0)}), ${sqlLiteral(escaped)})`;
    }
  }
  // A composite whose fields are all NULL IS NULL in SQL, yet is a value: num_nulls tells them apart.
  const isNull = plain ? `${ref} IS NULL` : `num_nulls(${ref}) = 1`;
  return `CASE WHEN ${isNull} THEN ${sqlLiteral(COPY_NULL)} ELSE ${text} END`;
}

/** A literal of fixed text (no quotes, no NULs): standard_conforming_strings is on everywhere we run. */
function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The SQL expression for a row's COPY line without its newline: the columns' fields joined by tabs.
 * `alias` names the row's table in the FROM clause.
 */
export function copyLineSql(columns: readonly CopyColumn[], alias: string): string {
  if (columns.length === 0) return `''`;
  return columns.map((c) => fieldSql(c, alias)).join(` || chr(9) || `);
}

/** One field of a COPY line as its value: `null` for `\N`, the unescaped text otherwise. */
export function decodeField(field: string): string | null {
  if (field === COPY_NULL) return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.?)/gs, (_, ch: string) => {
    const raw = UNESCAPES[ch];
    if (raw === undefined) {
      throw new DatabaseError(`backup data holds an escape COPY text never writes: \\${ch}`, '22P04');
    }
    return raw;
  });
}

/** A value as a COPY field (for tests and tools that write the format). */
export function encodeField(value: string | null): string {
  if (value === null) return COPY_NULL;
  let out = value;
  for (const [raw, escaped] of ESCAPES) out = out.replaceAll(raw, escaped);
  return out;
}

/**
 * A part's body as rows of values. Every line ends in `\n`; an empty line is a row of one empty
 * string (a one-column table), so lines are split, not filtered.
 */
export function parseCopyText(body: string, columns: number): (string | null)[][] {
  if (body === '') return [];
  if (!body.endsWith('\n')) throw new DatabaseError('backup part does not end with a newline', '22P04');
  const lines = body.slice(0, -1).split('\n');
  return lines.map((line, i) => {
    const fields = columns === 0 ? [] : line.split('\t');
    if (fields.length !== columns) {
      throw new DatabaseError(
        `backup part line ${i + 1} has ${fields.length} fields, the table ${columns}`,
        '22P04',
      );
    }
    return fields.map(decodeField);
  });
}

/** Rows in a COPY body: its newlines (every line ends in one). */
export function countLines(body: string): number {
  let n = 0;
  for (let i = body.indexOf('\n'); i !== -1; i = body.indexOf('\n', i + 1)) n++;
  return n;
}
