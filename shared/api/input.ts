import { type FieldIssue, PayloadTooLargeError, ValidationError } from '../errors';
import { parseJsonLossless } from '../json';
import { jsonProblems, MAX_INPUT_ISSUES, printable, textProblem } from '../validation';

/**
 * The limits and checks every request goes through before zod sees it, so that no bad input
 * reaches the database or blows the stack: a body's size, its JSON nesting, and the text of every
 * string, object key, path and query parameter (no NUL, no lone surrogate: Postgres refuses NUL in
 * text with 22021, and a lone surrogate is not Unicode text at all). The text and nesting checks
 * themselves are in ../validation.ts.
 */

/** The largest request body the API reads: 1 MiB (API Gateway itself stops at 10 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

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
  const issues = jsonProblems(value, '(body)');
  if (issues.length > 0) throw new ValidationError(issues);
  // Again, now that it is known to nest no deeper than MAX_JSON_DEPTH (a reviver recurses): a
  // number past 2^53 (a template's limits, a bigint in its initial rows) stays as written.
  return parseJsonLossless(text);
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
