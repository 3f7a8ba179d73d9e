import type { z } from 'zod';
import { ValidationError } from './errors';

/** Parses with zod; a failure is one ValidationError naming every offending field and why. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((i) => ({ field: prefix + (i.path.join('.') || '(input)'), reason: i.message })),
  );
}
