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

/** ErrorOptions, plus the input field an error is about (an API problem response names it). */
export interface TenantryErrorOptions extends ErrorOptions {
  /** e.g. `tenantId` for a tenant that exists, `templateId` for one that does not. */
  readonly field?: string;
}

export abstract class TenantryError extends Error {
  abstract readonly status: number;
  readonly retryable: boolean = false;
  /** The input field this error is about, when it is about one. */
  readonly field: string | undefined;

  constructor(message: string, options?: TenantryErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.field = options?.field;
  }

  /** A JSON-safe view for logs, step outputs and API problems; never includes `cause` internals. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message };
  }
}

/** Input that breaks a rule. Carries every offending field so a caller can fix them all at once. */
export class ValidationError extends TenantryError {
  readonly status: number = 400;
  readonly fields: readonly FieldIssue[];

  constructor(fields: readonly FieldIssue[], options?: ErrorOptions) {
    super(fields.map((f) => `${f.field}: ${f.reason}`).join('; ') || 'invalid input', options);
    this.fields = fields;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), fields: this.fields };
  }
}

/**
 * A request body over the size the API accepts (413, as API Gateway answers a payload over its own
 * limit). A ValidationError, so the problem response names the body and the limit.
 */
export class PayloadTooLargeError extends ValidationError {
  override name = 'PayloadTooLargeError';
  override readonly status = 413;
}

export class NotFoundError extends TenantryError {
  readonly status = 404;
}

export class ConflictError extends TenantryError {
  readonly status = 409;
}

/** The tenant is already active (or otherwise not provisionable). */
export class TenantExistsError extends ConflictError {
  constructor(message: string, options?: TenantryErrorOptions) {
    super(message, { field: 'tenantId', ...options });
  }
}

/**
 * The tenant id folds to the schema name another tenant already has (`a-b` and `a_b` both give
 * `tenant_a_b`): refused before any execution starts.
 */
export class SchemaNameTakenError extends ConflictError {
  override name = 'SchemaNameTakenError';
  constructor(
    readonly tenantId: string,
    readonly schemaName: string,
    readonly holder: string,
    options?: TenantryErrorOptions,
  ) {
    super(`tenant id '${tenantId}' maps to schema ${schemaName}, which tenant '${holder}' already has`, {
      field: 'tenantId',
      ...options,
    });
  }
}

/** The tenant's status does not allow the operation (e.g. deprovisioning a deprovisioned tenant). */
export class TenantStateError extends ConflictError {}

/** Another execution owns the tenant right now; this one must not touch it. */
export class TenantBusyError extends ConflictError {
  constructor(
    readonly tenantId: string,
    readonly ownerExecutionId: string,
    options?: TenantryErrorOptions,
  ) {
    super(`tenant '${tenantId}' is being changed by execution ${ownerExecutionId}`, {
      field: 'tenantId',
      ...options,
    });
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
