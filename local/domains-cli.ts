import { UsageError } from './usage';

/** The domains to set from the command's hosts: undefined to only show them, [] with --clear. */
export function domainsArgs(hosts: readonly string[], clear: boolean): string[] | undefined {
  if (clear && hosts.length > 0) throw new UsageError('domains takes host names or --clear, not both');
  if (clear) return [];
  if (hosts.length === 0) return undefined;
  return [...hosts];
}

export function printDomains(tenantId: string, domains: readonly string[]): void {
  console.log(`${tenantId}: ${domains.length > 0 ? domains.join(', ') : 'no domains'}`);
}

/** A settings or limits value as text: exactly as the API gave it (a number past 2^53 included). */
export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}
