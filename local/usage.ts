import { userInfo } from 'node:os';
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

/** The OS user running this process; `USER` where the system has no entry for it (a container). */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The actor of what the in-process CLI does, in the audit trail: `cli:<OS user>`. */
export function cliActor(): string {
  return `cli:${osUser()}`;
}
