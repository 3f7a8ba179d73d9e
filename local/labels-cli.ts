import type { Labels } from '../shared/labels';
import { parseLabelPairs } from '../shared/labels';
import { UsageError } from './usage';

/** The labels to set from the command's pairs: undefined to only show them, {} with --clear. */
export function labelsArgs(pairs: readonly string[], clear: boolean): Labels | undefined {
  if (clear && pairs.length > 0) throw new UsageError('labels takes key=value pairs or --clear, not both');
  if (clear) return {};
  if (pairs.length === 0) return undefined;
  const labels = parseLabelPairs(pairs.join(','));
  if (typeof labels === 'string') throw new UsageError(`labels takes key=value pairs: ${labels}`);
  return labels;
}

export function printLabels(tenantId: string, labels: Readonly<Record<string, string>>): void {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  console.log(`${tenantId}: ${pairs.length > 0 ? pairs.join(', ') : 'no labels'}`);
}
