import * as z from 'zod';
import { lazySchema } from './validation';

/**
 * Tenant labels: a few `key: value` pairs a platform team sets on a tenant (at provisioning, or
 * with PUT /tenants/{id}/labels) to pick groups of tenants out later, as a rollout's selector does
 * (`{ labels: { tier: 'gold' } }`: every pair must match). Shaped like Kubernetes labels so they
 * travel between systems unchanged: a key is 1-63 characters of `a-z 0-9 . _ -`, beginning and
 * ending with a letter or digit; a value 0-63 characters of `A-Z a-z 0-9 . _ -`, beginning and
 * ending with a letter or digit when not empty. At most 32 per tenant.
 */
export const LABEL_LIMITS = { maxLabels: 32, maxLength: 63 } as const;

const KEY = /^[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?$/;
const VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

export const LabelsSchema = lazySchema(() =>
  z
    .record(
      z
        .string()
        .regex(
          KEY,
          'a label key is 1-63 characters of a-z, 0-9, ".", "_", "-", starting and ending with a letter or digit',
        ),
      z
        .string()
        .regex(
          VALUE,
          'a label value is up to 63 characters of A-Z, a-z, 0-9, ".", "_", "-", starting and ending with a letter or digit',
        ),
    )
    .refine((labels) => Object.keys(labels).length <= LABEL_LIMITS.maxLabels, {
      message: `at most ${LABEL_LIMITS.maxLabels} labels`,
    }),
);
export type Labels = z.infer<typeof LabelsSchema>;

/** `key=value[,key=value]` (a CLI flag) as labels; a pair without `=` is a problem naming it. */
export function parseLabelPairs(text: string): Labels | string {
  const entries: [string, string][] = [];
  for (const pair of text.split(',').filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at < 1) return `'${pair}' is not key=value`;
    entries.push([pair.slice(0, at), pair.slice(at + 1)]);
  }
  // Own properties whatever the key (`__proto__` included), for the schema to refuse.
  return Object.fromEntries(entries);
}
