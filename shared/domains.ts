import { domainToASCII } from 'node:url';
import * as z from 'zod';
import { lazySchema } from './validation';

/**
 * Tenant domains: the host names an application maps to a tenant (`GET /resolve?host=`), set at
 * provisioning (`domains`) or by PUT /tenants/{id}/domains. A host is held by one tenant at a
 * time: the control schema's unique index on the held hosts (control migration 0019) guarantees
 * it, whatever races. Hosts are stored normalised, so they compare exactly:
 *
 * - lowercase, without the trailing dot of a fully qualified name (`Acme.Example.com.` →
 *   `acme.example.com`); an internationalised name as its punycode (`bücher.example` →
 *   `xn--bcher-kva.example`, by UTS #46, as a browser sends it);
 * - then a DNS host name: at least two labels, each 1-63 bytes of `a-z 0-9 -` that neither starts
 *   nor ends with `-`, at most 253 bytes in all, and a last label that is not all digits (an IPv4
 *   address is not a domain). No port, no wildcard, no underscore.
 *
 * At most DOMAIN_LIMITS.maxDomains per tenant.
 */
export const DOMAIN_LIMITS = { maxDomains: 20, maxBytes: 253, maxLabelBytes: 63 } as const;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const HOST_RULE =
  'a DNS host name: at least two dot-separated labels of a-z, 0-9 and inner "-" (1-63 each), ' +
  'at most 253 bytes, no port';

/** A host as stored (see above), or why it cannot be one. */
export function normaliseHost(input: string): { host: string } | { problem: string } {
  let host = input;
  // Only a name with non-ASCII letters goes through UTS #46: an ASCII one is taken as written
  // (domainToASCII would also turn `127.1` into `127.0.0.1`).
  if (/[^\x20-\x7e]/.test(host)) {
    host = domainToASCII(host);
    if (!host) return { problem: `'${input}' is not a valid internationalised domain name` };
  }
  if (host.includes(':')) return { problem: `'${input}' must be a host name without a port` };
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length > DOMAIN_LIMITS.maxBytes) return { problem: `is ${host.length} bytes long: ${HOST_RULE}` };
  const labels = host.split('.');
  if (labels.length < 2) return { problem: `'${input}' has one label: ${HOST_RULE}` };
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined)
    return {
      problem:
        bad === ''
          ? `'${input}' has an empty label: ${HOST_RULE}`
          : `'${input}' has the label '${bad.length > 70 ? `${bad.slice(0, 70)}...` : bad}': ${HOST_RULE}`,
    };
  if (/^[0-9]+$/.test(labels.at(-1) ?? ''))
    return { problem: `'${input}' is not a domain: its last label is a number` };
  // A punycode label must decode: `xn--zz` is no name at all.
  if (labels.some((l) => l.startsWith('xn--')) && !domainToASCII(host))
    return { problem: `'${input}' holds a punycode label that is not valid` };
  return { host };
}

/** One host (a query's `host`, an entry of `domains`), normalised; a bad one is an issue naming it. */
export const HostSchema = lazySchema(() =>
  z
    .string()
    .max(1024)
    .transform((text, ctx) => {
      const result = normaliseHost(text);
      if ('problem' in result) {
        ctx.addIssue({ code: 'custom', message: result.problem });
        return z.NEVER;
      }
      return result.host;
    })
    .meta({ description: HOST_RULE, examples: ['acme.example.com'] }),
);

/**
 * A tenant's domains, each normalised, in the order given: at most DOMAIN_LIMITS.maxDomains, and
 * no host twice (however it was spelled).
 */
export const DomainsSchema = lazySchema(() =>
  z
    .array(HostSchema)
    .max(DOMAIN_LIMITS.maxDomains, `at most ${DOMAIN_LIMITS.maxDomains} domains per tenant`)
    .superRefine((hosts, ctx) => {
      const seen = new Map<string, number>();
      hosts.forEach((host, i) => {
        const first = seen.get(host);
        if (first === undefined) seen.set(host, i);
        else
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `'${host}' is given twice (as domains.${first})`,
          });
      });
    }),
);
export type Domains = z.infer<typeof DomainsSchema>;
