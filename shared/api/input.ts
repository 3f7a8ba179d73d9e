import { type FieldIssue, PayloadTooLargeError, ValidationError } from '../errors';

/**
 * The limits and checks every request goes through before zod sees it, so that no bad input
 * reaches the database or blows the stack: a body's size, its JSON nesting, and the text of every
 * string, object key, path and query parameter (no NUL, no lone surrogate: Postgres refuses NUL in
 * text with 22021, and a lone surrogate is not Unicode text at all).
 */

/** The largest request body the API reads: 1 MiB (API Gateway itself stops at 10 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * How deep a JSON body may nest, counting each object and array: `{"a": [1]}` is 2 deep. Checked
 * without recursion, so a body 20,000 deep is refused as cleanly as one 65 deep.
 */
export const MAX_JSON_DEPTH = 64;

/** At most this many problems are named in one answer (a 1 MiB body could hold 100,000). */
export const MAX_INPUT_ISSUES = 20;

const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Why a piece of input text cannot be stored or echoed, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain a NUL character (U+0000)';
  if (!text.isWellFormed()) return 'is not valid Unicode: it holds a lone surrogate';
  return undefined;
}

const SEGMENT_MAX = 60;

/** A path segment as a field name can safely show it: control characters escaped, long ones cut. */
export function printable(segment: string): string {
  const cut = segment.length > SEGMENT_MAX ? `${segment.slice(0, SEGMENT_MAX)}...` : segment;
  return cut
    .replace(LONE_SURROGATES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them is the point
      /[\u0000-\u001f\u007f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
}

const fieldOf = (path: readonly (string | number)[], root: string) =>
  path.length === 0 ? root : path.map((p) => printable(String(p))).join('.');

/**
 * Every problem with a parsed JSON value: strings and object keys that are not storable text, and
 * objects or arrays nested deeper than MAX_JSON_DEPTH. Walks the value with an explicit stack.
 * Fields are dotted paths as zod names them (`initialData.0.rows.0.name`); `root` names the value.
 */
export function jsonProblems(value: unknown, root = '(body)', maxDepth = MAX_JSON_DEPTH): FieldIssue[] {
  const issues: FieldIssue[] = [];
  // `keyProblem`: the entry's key is bad, reported (in document order) instead of its value.
  const stack: { value: unknown; path: (string | number)[]; depth: number; keyProblem?: string }[] = [
    { value, path: [], depth: 0 },
  ];
  while (stack.length > 0 && issues.length < MAX_INPUT_ISSUES) {
    const { value: v, path, depth, keyProblem } = stack.pop() as (typeof stack)[number];
    if (keyProblem) {
      issues.push({ field: fieldOf(path, root), reason: `(a field name) ${keyProblem}` });
      continue;
    }
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) issues.push({ field: fieldOf(path, root), reason: problem });
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > maxDepth) {
      issues.push({ field: fieldOf(path, root), reason: `nests deeper than ${maxDepth} levels` });
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], path: [...path, i], depth: depth + 1 });
      continue;
    }
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i] as [string, unknown];
      const problem = textProblem(key);
      stack.push({
        value: child,
        path: [...path, key],
        depth: depth + 1,
        ...(problem ? { keyProblem: problem } : {}),
      });
    }
  }
  return issues;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request body as API Gateway hands it over (text, or base64 when it is not valid UTF-8 text),
 * read as JSON: PayloadTooLargeError (413) over MAX_BODY_BYTES, ValidationError (400) for bytes
 * that are not UTF-8, text that is not JSON, and any problem jsonProblems finds. Undefined for an
 * empty body.
 */
export function readJsonBody(
  body: string | undefined,
  isBase64Encoded = false,
  maxBytes = MAX_BODY_BYTES,
): unknown {
  if (!body) return undefined;
  const bytes = isBase64Encoded ? Buffer.from(body, 'base64') : undefined;
  const size = bytes ? bytes.length : Buffer.byteLength(body, 'utf8');
  if (size > maxBytes) {
    throw new PayloadTooLargeError([
      { field: '(body)', reason: `is ${size} bytes; at most ${maxBytes} bytes are accepted` },
    ]);
  }
  let text = body;
  if (bytes) {
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new ValidationError([{ field: '(body)', reason: 'is not valid UTF-8 text' }]);
    }
  }
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError([{ field: '(body)', reason: 'is not valid JSON' }]);
  }
  const issues = jsonProblems(value);
  if (issues.length > 0) throw new ValidationError(issues);
  return value;
}

/** Query string parameters (names and values), checked as text. */
export function assertTextParams(params: Readonly<Record<string, string | undefined>>): void {
  const issues: FieldIssue[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (issues.length >= MAX_INPUT_ISSUES) break;
    const nameProblem = textProblem(name);
    if (nameProblem) issues.push({ field: printable(name), reason: `(a parameter name) ${nameProblem}` });
    const valueProblem = value === undefined ? undefined : textProblem(value);
    if (valueProblem) issues.push({ field: printable(name), reason: valueProblem });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}
