/**
 * Splits a SQL script into statements the way the Postgres lexer sees them: semicolons inside
 * string literals ('...', E'...'), quoted identifiers ("..."), dollar-quoted bodies ($tag$...$tag$)
 * and comments (-- and nested block comments) do not end a statement. Comment-only pieces are
 * dropped. Each statement comes back trimmed, without its trailing semicolon.
 */
export interface SplitStatement {
  readonly sql: string;
  /** 1-based line of the statement's first character in the script. */
  readonly line: number;
}

export function splitSqlStatements(script: string): SplitStatement[] {
  const out: SplitStatement[] = [];
  let i = 0;
  const n = script.length;
  let hasCode = false;
  // Where the statement's first code character is: comments before it are not part of it.
  let codeStart = 0;
  const markCode = (at: number) => {
    if (!hasCode) codeStart = at;
    hasCode = true;
  };

  // Lines are counted as the statements come, not from the start each time.
  let line = 1;
  let counted = 0;
  const push = (end: number) => {
    if (hasCode) {
      line += lineAt(script.slice(counted, codeStart), codeStart - counted) - 1;
      counted = codeStart;
      out.push({ sql: script.slice(codeStart, end).trim(), line });
    }
    hasCode = false;
  };

  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const eol = script.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      i = skipBlockComment(script, i);
      continue;
    }
    if (c === "'") {
      markCode(i);
      const escapes = i > 0 && /[eE]/.test(script[i - 1] ?? '') && !/[\w$]/.test(script[i - 2] ?? '');
      i = skipQuoted(script, i, "'", escapes);
      continue;
    }
    if (c === '"') {
      markCode(i);
      i = skipQuoted(script, i, '"', false);
      continue;
    }
    if (c === '$') {
      const tag = dollarTagAt(script, i);
      if (tag !== undefined) {
        markCode(i);
        const close = script.indexOf(tag, i + tag.length);
        i = close === -1 ? n : close + tag.length;
        continue;
      }
    }
    if (c === ';') {
      push(i);
      i++;
      continue;
    }
    if (c !== undefined && !/\s/.test(c)) markCode(i);
    i++;
  }
  push(n);
  return out;
}

/**
 * Walks SQL the way the Postgres lexer does, calling `onCode` for each character outside literals,
 * quoted identifiers, dollar-quoted bodies and comments. `onCode` may return where to go on.
 */
export function scanCode(sql: string, onCode: (i: number) => number | undefined): void {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? sql.length : eol + 1;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      i = skipQuoted(sql, i, c, escapes);
    } else {
      const tag = c === '$' ? dollarTagAt(sql, i) : undefined;
      if (tag !== undefined) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close === -1 ? sql.length : close + tag.length;
      } else i = onCode(i) ?? i + 1;
    }
  }
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let k = 0; k < index; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

function skipBlockComment(s: string, from: number): number {
  let depth = 0;
  let i = from;
  while (i < s.length) {
    if (s[i] === '/' && s[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (s[i] === '*' && s[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return s.length;
}

function skipQuoted(s: string, from: number, quote: string, backslashEscapes: boolean): number {
  let i = from + 1;
  while (i < s.length) {
    const c = s[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (s[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return s.length;
}

/** `$$` or `$tag$` starting at `i` (a tag is an identifier, not a positional `$1`). */
function dollarTagAt(s: string, i: number): string | undefined {
  if (i > 0 && /[\w$]/.test(s[i - 1] ?? '')) return undefined;
  const m = /^\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(s.slice(i, i + 64));
  return m ? m[0] : undefined;
}

/**
 * The script with comments removed and the contents of string literals, quoted identifiers and
 * dollar-quoted bodies blanked: for pattern checks that must not be fooled by text in a literal.
 */
export function codeOnly(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? sql.length : eol;
      out += ' ';
      continue;
    }
    if (c === '/' && next === '*') {
      i = skipBlockComment(sql, i);
      out += ' ';
      continue;
    }
    if (c === "'" || c === '"') {
      const end = skipQuoted(sql, i, c, false);
      out += `${c}${c}`;
      i = end;
      continue;
    }
    if (c === '$') {
      const tag = dollarTagAt(sql, i);
      if (tag !== undefined) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close === -1 ? sql.length : close + tag.length;
        out += '$$$$';
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

/**
 * One piece of a psql script (a plain-SQL pg_dump): a statement (with its start line and, for
 * `COPY ... FROM stdin`, the data lines that follow it up to `\.`) or a psql meta-command line
 * (`\connect`, `\restrict`, ...). `start`/`end` are offsets into the script: `end` is just past
 * the statement's semicolon, or past the data's terminator line.
 */
export interface ScriptItem {
  readonly kind: 'statement' | 'meta';
  readonly sql: string;
  readonly line: number;
  readonly start: number;
  readonly end: number;
  /** The data lines of a COPY ... FROM stdin, each with its line number. */
  readonly copyData?: readonly { readonly line: number; readonly text: string }[];
}

const COPY_FROM_STDIN = /^COPY\b[\s\S]*\bFROM\s+stdin\b/i;

/**
 * Splits a psql script as psql reads it: statements as {@link splitSqlStatements} does, plus
 * backslash meta-commands at the start of a line between statements and the inline data of
 * `COPY ... FROM stdin`. Line numbers are counted as it goes (large dumps stay linear).
 */
export function splitPsqlScript(script: string): ScriptItem[] {
  const out: ScriptItem[] = [];
  const n = script.length;
  let i = 0;
  let line = 1;
  let lineCountedTo = 0;
  const lineOf = (index: number) => {
    for (let k = lineCountedTo; k < index; k++) if (script.charCodeAt(k) === 10) line++;
    lineCountedTo = Math.max(lineCountedTo, index);
    return line;
  };
  let codeStart = -1;
  const atLineStart = (at: number) => {
    let k = at - 1;
    while (k >= 0 && (script[k] === ' ' || script[k] === '\t')) k--;
    return k < 0 || script[k] === '\n';
  };

  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === '\\' && codeStart === -1 && atLineStart(i)) {
      const eol = script.indexOf('\n', i);
      const end = eol === -1 ? n : eol;
      out.push({ kind: 'meta', sql: script.slice(i, end).trim(), line: lineOf(i), start: i, end });
      i = end;
      continue;
    }
    if (c === '-' && next === '-') {
      const eol = script.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      i = skipBlockComment(script, i);
      continue;
    }
    if (c === "'" || c === '"') {
      if (codeStart === -1) codeStart = i;
      const escapes = c === "'" && /[eE]/.test(script[i - 1] ?? '') && !/[\w$]/.test(script[i - 2] ?? '');
      i = skipQuoted(script, i, c, escapes);
      continue;
    }
    if (c === '$') {
      const tag = dollarTagAt(script, i);
      if (tag !== undefined) {
        if (codeStart === -1) codeStart = i;
        const close = script.indexOf(tag, i + tag.length);
        i = close === -1 ? n : close + tag.length;
        continue;
      }
    }
    if (c === ';' && codeStart !== -1) {
      const sql = script.slice(codeStart, i).trim();
      const stmtLine = lineOf(codeStart);
      let end = i + 1;
      let copyData: { line: number; text: string }[] | undefined;
      if (COPY_FROM_STDIN.test(codeOnly(sql))) {
        copyData = [];
        const eol = script.indexOf('\n', end);
        let k = eol === -1 ? n : eol + 1;
        while (k < n) {
          const lineEnd = script.indexOf('\n', k);
          const stop = lineEnd === -1 ? n : lineEnd;
          const text = script.slice(k, stop).replace(/\r$/, '');
          const dataLine = lineOf(k);
          k = lineEnd === -1 ? n : lineEnd + 1;
          if (text === '\\.') break;
          copyData.push({ line: dataLine, text });
        }
        end = k;
      }
      out.push({
        kind: 'statement',
        sql,
        line: stmtLine,
        start: codeStart,
        end,
        ...(copyData ? { copyData } : {}),
      });
      codeStart = -1;
      i = end;
      continue;
    }
    if (c !== undefined && codeStart === -1 && !/\s/.test(c)) codeStart = i;
    i++;
  }
  if (codeStart !== -1) {
    const sql = script.slice(codeStart).trim();
    if (sql) out.push({ kind: 'statement', sql, line: lineOf(codeStart), start: codeStart, end: n });
  }
  return out;
}

/** A lexical token of one SQL statement (comments and whitespace are skipped). */
export interface SqlToken {
  readonly kind: 'ident' | 'quoted' | 'string' | 'dollar' | 'number' | 'op' | 'param';
  /** The token's text as written. */
  readonly text: string;
  /**
   * ident: lower-cased; quoted: the name; string: the decoded value (standard or E'' escapes; for
   * B'', X'', U&'' the text between the quotes); dollar: the body; op/number/param: the text.
   */
  readonly value: string;
  /** For strings: the prefix letter(s) before the quote ('', 'E', 'B', 'X', 'U&', 'N'). */
  readonly prefix?: string;
  readonly start: number;
  readonly end: number;
}

const PUNCTUATION = new Set(['(', ')', ',', ';', '[', ']', '.']);
const OPERATOR_CHARS = /[+\-*/<>=~!@#%^&|`?:]/;

/** Decodes the escapes of an E'' literal body (backslash sequences, doubled quotes). */
export function decodeEscapeString(body: string): string {
  let out = '';
  for (let k = 0; k < body.length; k++) {
    const c = body[k];
    if (c === "'" && body[k + 1] === "'") {
      out += "'";
      k++;
      continue;
    }
    if (c !== '\\') {
      out += c;
      continue;
    }
    const d = body[k + 1] ?? '';
    k++;
    const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    if (simple[d] !== undefined) out += simple[d];
    else if (/[0-7]/.test(d)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(k)) ?? [d];
      out += String.fromCharCode(Number.parseInt(m[0], 8));
      k += m[0].length - 1;
    } else if (d === 'x' && /[0-9a-fA-F]/.test(body[k + 1] ?? '')) {
      const m = /^[0-9a-fA-F]{1,2}/.exec(body.slice(k + 1)) ?? ['0'];
      out += String.fromCharCode(Number.parseInt(m[0], 16));
      k += m[0].length;
    } else if ((d === 'u' || d === 'U') && /[0-9a-fA-F]/.test(body[k + 1] ?? '')) {
      const len = d === 'u' ? 4 : 8;
      out += String.fromCodePoint(Number.parseInt(body.slice(k + 1, k + 1 + len), 16));
      k += len;
    } else out += d;
  }
  return out;
}

/**
 * The tokens of one SQL statement, the way the Postgres lexer sees them: for rewriting names
 * (schema qualifiers) and reading values without being fooled by comments or literals.
 */
export function tokenize(sql: string): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  const n = sql.length;
  const push = (kind: SqlToken['kind'], start: number, end: number, value: string, prefix?: string) =>
    out.push({
      kind,
      text: sql.slice(start, end),
      value,
      start,
      end,
      ...(prefix !== undefined ? { prefix } : {}),
    });
  while (i < n) {
    const c = sql[i] ?? '';
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && next === '*') {
      i = skipBlockComment(sql, i);
    } else if (c === "'") {
      const end = skipQuoted(sql, i, "'", false);
      push('string', i, end, sql.slice(i + 1, end - 1).replaceAll("''", "'"), '');
      i = end;
    } else if (c === '"') {
      const end = skipQuoted(sql, i, '"', false);
      push('quoted', i, end, sql.slice(i + 1, end - 1).replaceAll('""', '"'));
      i = end;
    } else if (c === '$' && dollarTagAt(sql, i) !== undefined) {
      const tag = dollarTagAt(sql, i) ?? '$$';
      const close = sql.indexOf(tag, i + tag.length);
      const end = close === -1 ? n : close + tag.length;
      push('dollar', i, end, sql.slice(i + tag.length, close === -1 ? n : close));
      i = end;
    } else if (c === '$' && /\d/.test(next ?? '')) {
      let k = i + 1;
      while (k < n && /\d/.test(sql[k] ?? '')) k++;
      push('param', i, k, sql.slice(i, k));
      i = k;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      // A string prefix: E'..', B'..', X'..', N'..', U&'..'.
      const two = sql.slice(i, i + 3);
      if (/^[eEbBxXnN]'/.test(two) && !/[\w$]/.test(sql[i - 1] ?? '')) {
        const escapes = /[eE]/.test(c);
        const end = skipQuoted(sql, i + 1, "'", escapes);
        const body = sql.slice(i + 2, end - 1);
        push(
          'string',
          i,
          end,
          escapes ? decodeEscapeString(body) : body.replaceAll("''", "'"),
          c.toUpperCase(),
        );
        i = end;
        continue;
      }
      if (/^[uU]&'/.test(two)) {
        const end = skipQuoted(sql, i + 2, "'", false);
        push('string', i, end, sql.slice(i + 3, end - 1), 'U&');
        i = end;
        continue;
      }
      let k = i + 1;
      while (k < n && /[\w$\u0080-\uffff]/.test(sql[k] ?? '')) k++;
      push('ident', i, k, sql.slice(i, k).toLowerCase());
      i = k;
    } else if (/\d/.test(c) || (c === '.' && /\d/.test(next ?? ''))) {
      const m = /^(\d[\d_]*)?(\.\d*)?([eE][+-]?\d+)?/.exec(sql.slice(i)) ?? [c];
      const end = i + Math.max(1, m[0].length);
      push('number', i, end, sql.slice(i, end));
      i = end;
    } else if (c === ':' && next === ':') {
      push('op', i, i + 2, '::');
      i += 2;
    } else if (PUNCTUATION.has(c)) {
      push('op', i, i + 1, c);
      i++;
    } else if (OPERATOR_CHARS.test(c)) {
      let k = i + 1;
      while (k < n && OPERATOR_CHARS.test(sql[k] ?? '') && !(sql[k] === '-' && sql[k + 1] === '-')) k++;
      push('op', i, k, sql.slice(i, k));
      i = k;
    } else {
      push('op', i, i + 1, c);
      i++;
    }
  }
  return out;
}
