import type { SqlToken } from '../sql/split';

/** A value of seed.json written as the JSON text itself (a json/jsonb column's value). */
export class RawJson {
  constructor(readonly text: string) {}
}

export type SeedValue = string | null | RawJson;
export type SeedRow = Record<string, SeedValue>;

/** Marks a column an INSERT left to its default. */
export const DEFAULT_VALUE: unique symbol = Symbol('DEFAULT');
export type DataValue = string | null | typeof DEFAULT_VALUE;

/** Rows of one table as the dump holds them: COPY text fields or INSERT literals, decoded. */
export interface DumpData {
  readonly table: string;
  /** The schema the dump named, if it named one (after the source schema was removed: none). */
  readonly schema: string | undefined;
  /** The column list the dump gave; undefined for `INSERT INTO t VALUES ...` (table order). */
  readonly columns: readonly string[] | undefined;
  readonly rows: DataValue[][];
  readonly line: number;
}

const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One field of COPY's text format: `\N` is NULL, backslash escapes decoded (as COPY FROM does). */
export function decodeCopyField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  const pushText = (s: string) => bytes.push(...encoder.encode(s));
  for (let k = 0; k < field.length; k++) {
    const c = field[k] ?? '';
    if (c !== '\\') {
      pushText(c);
      continue;
    }
    const d = field[k + 1] ?? '';
    k++;
    if (COPY_ESCAPES[d] !== undefined) pushText(COPY_ESCAPES[d]);
    else if (/[0-7]/.test(d)) {
      const m = /^[0-7]{1,3}/.exec(field.slice(k)) ?? [d];
      bytes.push(Number.parseInt(m[0], 8) & 0xff);
      k += m[0].length - 1;
    } else if (d === 'x' && /[0-9a-fA-F]/.test(field[k + 1] ?? '')) {
      const m = /^[0-9a-fA-F]{1,2}/.exec(field.slice(k + 1)) ?? ['0'];
      bytes.push(Number.parseInt(m[0], 16));
      k += m[0].length;
    } else pushText(d);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The rows of a COPY ... FROM stdin block (text format, tab-separated). */
export function decodeCopyRows(lines: readonly { line: number; text: string }[]): {
  rows: (string | null)[][];
  lines: number[];
} {
  const rows: (string | null)[][] = [];
  const at: number[] = [];
  for (const l of lines) {
    rows.push(l.text.split('\t').map(decodeCopyField));
    at.push(l.line);
  }
  return { rows, lines: at };
}

/**
 * One literal of an INSERT's VALUES list as text: strings (with E'' escapes decoded), numbers
 * exactly as written, NULL, true/false, B''/X'' bit strings, DEFAULT; a `::type` cast after a
 * literal is dropped (the column's type reads the text). Anything else (a function call, an
 * expression) is not a literal: undefined.
 */
export function literalValue(tokens: readonly SqlToken[]): DataValue | undefined {
  let parts = [...tokens];
  // Drop a trailing cast: 'x'::type, 'x'::character varying(10), 'x'::text[].
  const cast = parts.findIndex((t) => t.kind === 'op' && t.value === '::');
  if (cast > 0) parts = parts.slice(0, cast);
  if (parts.length === 2 && parts[0]?.kind === 'op' && /^[+-]$/.test(parts[0].value)) {
    const n = parts[1];
    if (n?.kind === 'number') return `${parts[0].value === '-' ? '-' : ''}${n.text}`;
    return undefined;
  }
  if (parts.length !== 1) return undefined;
  const t = parts[0];
  if (!t) return undefined;
  if (t.kind === 'number') return t.text;
  if (t.kind === 'string') {
    if (t.prefix === 'B') return t.value;
    if (t.prefix === 'X') return `X${t.value}`;
    if (t.prefix === 'U&') return undefined;
    return t.value;
  }
  if (t.kind === 'ident') {
    if (t.value === 'null') return null;
    if (t.value === 'true' || t.value === 'false') return t.value;
    if (t.value === 'default') return DEFAULT_VALUE;
  }
  return undefined;
}

/** seed.json text: one row per line, json/jsonb values written as the dump's JSON text. */
export function seedJson(tables: readonly { table: string; rows: readonly SeedRow[] }[]): string {
  const value = (v: SeedValue) => (v instanceof RawJson ? v.text : JSON.stringify(v));
  const row = (r: SeedRow) =>
    `{${Object.entries(r)
      .map(([k, v]) => `${JSON.stringify(k)}: ${value(v)}`)
      .join(', ')}}`;
  const body = tables
    .map(
      (t) =>
        `    {\n      "table": ${JSON.stringify(t.table)},\n      "rows": [\n${t.rows
          .map((r) => `        ${row(r)}`)
          .join(',\n')}\n      ]\n    }`,
    )
    .join(',\n');
  return `{\n  "tables": [\n${body}\n  ]\n}\n`;
}

/**
 * Orders tables so each comes after the tables its foreign keys reference (dump order otherwise);
 * tables in a reference cycle keep dump order and are reported.
 */
export function foreignKeyOrder(
  tables: readonly string[],
  references: ReadonlyMap<string, ReadonlySet<string>>,
): { order: string[]; cycle: string[] } {
  const present = new Set(tables);
  const order: string[] = [];
  const placed = new Set<string>();
  let progress = true;
  while (order.length < tables.length && progress) {
    progress = false;
    for (const t of tables) {
      if (placed.has(t)) continue;
      const deps = [...(references.get(t) ?? [])].filter((d) => d !== t && present.has(d));
      if (deps.every((d) => placed.has(d))) {
        order.push(t);
        placed.add(t);
        progress = true;
      }
    }
  }
  const cycle = tables.filter((t) => !placed.has(t));
  return { order: [...order, ...cycle], cycle };
}
