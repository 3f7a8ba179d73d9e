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

  const push = (end: number) => {
    if (hasCode) out.push({ sql: script.slice(codeStart, end).trim(), line: lineAt(script, codeStart) });
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
