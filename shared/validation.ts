import * as z from 'zod';
import { type FieldIssue, ValidationError } from './errors';

/** Parses with zod; a failure is one ValidationError naming every offending field and why. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((i) => ({ field: prefix + (i.path.join('.') || '(input)'), reason: i.message })),
  );
}

/**
 * A schema built the first time it parses (or is unwrapped), then kept: importing a module of
 * schemas costs a cold start one small node per schema, and a bundle builds only those its handler
 * uses. `.unwrap()` gives the built schema, for `.omit`, `.extend` and `.shape`.
 */
export function lazySchema<T extends z.ZodType>(build: () => T): z.ZodLazy<T> {
  let built: T | undefined;
  return z.lazy(() => {
    built ??= build();
    return built;
  });
}

/** Builds a lazySchema now: at a Lambda's init, for the schemas its own handler parses with. */
export function buildNow(schema: z.ZodType | undefined): void {
  if (schema instanceof z.ZodLazy) schema.unwrap();
}

/**
 * A record of schemas, each built the first time it is read and then kept. A table of schemas that
 * every bundle imports (each workflow step's output, shared/workflows.ts) then costs a cold start
 * only the ones its handler reads (zod takes about half a million instructions a field, interpreted).
 */
export function lazySchemas<T extends Record<string, () => z.ZodType>>(
  builders: T,
): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const record = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const key of Object.keys(builders) as (keyof T & string)[]) {
    let built: ReturnType<T[typeof key]> | undefined;
    Object.defineProperty(record, key, {
      enumerable: true,
      get: () => {
        built ??= builders[key]?.() as ReturnType<T[typeof key]>;
        return built;
      },
    });
  }
  return Object.freeze(record);
}

/**
 * How deep JSON input (an API body, a template) may nest, counting each object and array: `{"a": [1]}` is 2 deep. Checked
 * without recursion, so a value 20,000 deep is refused as cleanly as one 65 deep.
 */
export const MAX_JSON_DEPTH = 64;

/** At most this many problems are named in one error (a 1 MiB body could hold 100,000). */
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
export function jsonProblems(value: unknown, root = '(input)', maxDepth = MAX_JSON_DEPTH): FieldIssue[] {
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

/**
 * ValidationError when a JSON value holds text the database cannot store, or nests too deep: for
 * input that reaches the database without the HTTP API's checks (a template file given to the CLI).
 */
export function assertStorableJson(value: unknown, root = '(input)'): void {
  const issues = jsonProblems(value, root);
  if (issues.length > 0) throw new ValidationError(issues);
}
