import { type Labels, parseLabelPairs } from '../shared/labels';

/** A problem with the command line itself: one line, exit 2. */
export class UsageError extends Error {}

/** A positive whole number from a flag, or a UsageError naming the flag. */
export function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--${flag} takes a positive whole number, not '${text}'`);
  return n;
}

/** `--label key=value[,key=value]` as labels (validated where they are used), or a UsageError. */
export function labelsFlag(text: string | undefined): Labels | undefined {
  if (text === undefined) return undefined;
  const labels = parseLabelPairs(text);
  if (typeof labels === 'string') throw new UsageError(`--label takes key=value[,key=value]: ${labels}`);
  return labels;
}
