import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod';
import { ConfigError, TransientDatabaseError } from '../shared/errors';
import { logger } from '../shared/observability/logger';
import type { SqlClient } from '../shared/sql/port';

/**
 * How long a local execution's lease lasts without a renewal, and how often its process renews it.
 * `TENANTRY_LEASE_SECONDS` (default 45): a run whose process died is recovered this long after its
 * last renewal; renewals come every third of it, so two can fail (a short database outage) before
 * anyone may take the run over.
 */
export const LeaseEnvSchema = z.object({
  TENANTRY_LEASE_SECONDS: z.coerce.number().positive().max(86_400).optional(),
});

export interface LeaseSettings {
  /** A lease not renewed for this long has expired: its run may be recovered by anyone. */
  readonly timeoutMs: number;
  /** How often the holder renews it. */
  readonly renewEveryMs: number;
}

export const DEFAULT_LEASE_SECONDS = 45;

export function leaseSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): LeaseSettings {
  const parsed = LeaseEnvSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid lease environment: ${detail}`);
  }
  const timeoutMs = Math.round((parsed.data.TENANTRY_LEASE_SECONDS ?? DEFAULT_LEASE_SECONDS) * 1000);
  return { timeoutMs, renewEveryMs: Math.max(50, Math.floor(timeoutMs / 3)) };
}

/** A lease holder's id: unique per engine (and so per process), readable in the table. */
export function newLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * Runs `fn` again after a TransientDatabaseError, with exponential backoff (capped, jittered),
 * until it succeeds, a permanent error is thrown, or `giveUpAfterMs` has passed (then the last
 * error is thrown). For the engine's own bookkeeping, which must outlast a database restart.
 */
export async function retryTransient<T>(
  what: string,
  fn: () => Promise<T>,
  options: { giveUpAfterMs: number; firstDelayMs?: number; maxDelayMs?: number; stopped?: () => boolean },
): Promise<T> {
  const deadline = Date.now() + options.giveUpAfterMs;
  let delay = options.firstDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof TransientDatabaseError) || Date.now() >= deadline || options.stopped?.())
        throw error;
      if (attempt === 1 || attempt % 10 === 0)
        logger.warn(`${what} failed; retrying`, { attempt, error: error.message });
      await sleep(Math.min(delay / 2 + Math.random() * (delay / 2), Math.max(0, deadline - Date.now())));
      delay = Math.min(delay * 2, options.maxDelayMs ?? 5_000);
    }
  }
}

/** The SQL for "the lease's timeout from now", the timeout in ms being the parameter `param` ('$3'). */
export function leaseExpirySql(param: string): string {
  return `clock_timestamp() + ${param} * interval '1 millisecond'`;
}

/**
 * One execution's lease, renewed on a timer while its holder works on the run. A renewal that
 * meets a transient fault (the database is away) is retried with backoff until the next beat, and
 * then only logged: the next beat tries again; it never throws. A renewal that finds the
 * lease gone or held by someone else (a sweep took the run over, a cancel closed it) calls `onLost`
 * once and stops: the holder must then leave the run alone.
 */
export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private lost = false;
  private renewing: Promise<unknown> | undefined;

  constructor(
    private readonly db: SqlClient,
    readonly executionId: string,
    readonly owner: string,
    private readonly settings: LeaseSettings,
    private readonly onLost: () => void = () => {},
  ) {}

  get isLost(): boolean {
    return this.lost;
  }

  start(): this {
    if (this.timer || this.lost) return this;
    this.timer = setInterval(() => {
      // One renewal at a time: a slow one (retrying through an outage) is not stacked on.
      this.renewing ??= this.renew().finally(() => {
        this.renewing = undefined;
      });
    }, this.settings.renewEveryMs);
    this.timer.unref();
    return this;
  }

  /** True if renewed, false if lost, undefined if the database could not be asked. */
  async renew(): Promise<boolean | undefined> {
    if (this.lost) return false;
    try {
      const { rows } = await retryTransient(
        'renewing the execution lease',
        () =>
          this.db.query(
            `UPDATE tenantry.execution_leases SET expires_at = ${leaseExpirySql('$3')}, renewed_at = clock_timestamp()
              WHERE execution_id = $1 AND owner = $2 RETURNING 1 AS renewed`,
            [this.executionId, this.owner, this.settings.timeoutMs],
          ),
        {
          giveUpAfterMs: this.settings.renewEveryMs,
          firstDelayMs: Math.min(200, this.settings.renewEveryMs / 4),
          maxDelayMs: Math.max(50, this.settings.renewEveryMs / 3),
          stopped: () => !this.timer,
        },
      );
      if (rows.length > 0) return true;
      if (!this.timer) return false; // stopped meanwhile: the holder closed the run itself
      this.lost = true;
      this.stop();
      logger.warn('execution lease lost: another process has taken the run over', {
        executionId: this.executionId,
      });
      this.onLost();
      return false;
    } catch (error) {
      logger.warn('execution lease renewal failed; retrying at the next beat', {
        executionId: this.executionId,
        error: String(error),
      });
      return undefined;
    }
  }

  /** Stops renewing; the lease row stays and expires (or is deleted by whoever closes the run). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
