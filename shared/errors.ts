/**
 * Typed errors of the Tenantry domain.
 *
 * Every error sets `name`, because that is what a Lambda reports as `errorType` and what the
 * workflow's Retry and Catch match on. `retryable` tells the workflow (and people) whether the
 * same request may succeed later; `status` is the HTTP status an API route answers with.
 */

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `tenantId` or `limits.maxUsers`. */
  readonly field: string;
  readonly reason: string;
}

export abstract class TenantryError extends Error {
  abstract readonly status: number;
  readonly retryable: boolean = false;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }

  /** A JSON-safe view for logs, step outputs and API problems; never includes `cause` internals. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message };
  }
}

/** Input that breaks a rule. Carries every offending field so a caller can fix them all at once. */
export class ValidationError extends TenantryError {
  readonly status = 400;
  readonly fields: readonly FieldIssue[];

  constructor(fields: readonly FieldIssue[], options?: ErrorOptions) {
    super(fields.map((f) => `${f.field}: ${f.reason}`).join('; ') || 'invalid input', options);
    this.fields = fields;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), fields: this.fields };
  }
}

export class NotFoundError extends TenantryError {
  readonly status = 404;
}

export class ConflictError extends TenantryError {
  readonly status = 409;
}

/** The tenant is already active (or otherwise not provisionable). */
export class TenantExistsError extends ConflictError {}

/** The tenant's status does not allow the operation (e.g. deprovisioning a deprovisioned tenant). */
export class TenantStateError extends ConflictError {}

/** Another execution owns the tenant right now; this one must not touch it. */
export class TenantBusyError extends ConflictError {
  constructor(
    readonly tenantId: string,
    readonly ownerExecutionId: string,
    options?: ErrorOptions,
  ) {
    super(`tenant '${tenantId}' is being changed by execution ${ownerExecutionId}`, options);
  }
}

/** A fault that may go away by itself: the workflow retries these, and only these. */
export class TransientDatabaseError extends TenantryError {
  readonly status = 503;
  override readonly retryable = true;
  constructor(
    message: string,
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A database error that will happen again if retried (bad SQL, constraint violation, ...). */
export class DatabaseError extends TenantryError {
  readonly status = 500;
  constructor(
    message: string,
    /** The Postgres SQLSTATE, when the server sent one. */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), code: this.code };
  }
}

/** A blueprint or template on disk is malformed, or an applied migration was changed. */
export class BlueprintError extends TenantryError {
  readonly status = 422;
}

export class MigrationChecksumError extends BlueprintError {}

/** The tenant schema does not match what its blueprint version must produce. */
export class VerificationError extends TenantryError {
  readonly status = 500;
  constructor(
    message: string,
    readonly missing: readonly string[],
    readonly unexpected: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), missing: this.missing, unexpected: this.unexpected };
  }
}

/** Configuration (environment) is missing or malformed: fail at cold start, not mid-run. */
export class ConfigError extends TenantryError {
  readonly status = 500;
}

/** Errors whose name the workflow's Retry matches. Kept here so infra and code cannot drift. */
export const TRANSIENT_ERROR_NAMES = ['TransientDatabaseError'] as const;

export function isTenantryError(error: unknown): error is TenantryError {
  return error instanceof TenantryError;
}
