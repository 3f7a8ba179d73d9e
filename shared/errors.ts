/**
 * Typed errors of the Tenantry domain, and their catalogue.
 *
 * An error's `name` is what a Lambda reports as `errorType` and what the workflow's Retry and
 * Catch match on, so every class writes its name as a literal: a bundler that renames classes
 * cannot change it. Everything else about an error, its HTTP status, whether a retry may help and
 * the SQLSTATE a control function raises it with, is in ERROR_CATALOGUE, once; the classes, the
 * control-error mapping (registry/control.ts), the API problem mapper (api/http.ts) and the
 * workflow's Retry list (statemachine/retry.ts) all read it from there.
 */

interface ErrorSpec {
  /** The HTTP status an API route answers with. */
  readonly status: number;
  /** Whether the same request may succeed later: the workflow retries these, and only these. */
  readonly retryable?: boolean;
  /** The Tenantry SQLSTATEs (class TY) control functions raise for it (registry/control.ts maps them). */
  readonly sqlstates?: readonly string[];
}

export const ERROR_CATALOGUE = {
  ValidationError: { status: 400 },
  PayloadTooLargeError: { status: 413 },
  NotFoundError: { status: 404, sqlstates: ['TY005', 'TY006'] },
  ConflictError: { status: 409, sqlstates: ['TY004', 'TY008'] },
  TenantExistsError: { status: 409, sqlstates: ['TY003'] },
  SchemaNameTakenError: { status: 409 },
  TenantStateError: { status: 409, sqlstates: ['TY007'] },
  TenantBusyError: { status: 409, sqlstates: ['TY001'] },
  // TY010: a domain another tenant holds (take_domains.sql); DETAIL is the field naming it.
  DomainTakenError: { status: 409, sqlstates: ['TY010'] },
  // GET /resolve: the tenant exists no longer, for an application (disabled, deprovisioned, ...).
  TenantGoneError: { status: 410 },
  TransientDatabaseError: { status: 503, retryable: true },
  // TY900: a write to an append-only or immutable control table, a bug wherever it comes from.
  DatabaseError: { status: 500, sqlstates: ['TY900'] },
  // TY009: a blueprint's routine Tenantry refuses (an undeclared SECURITY DEFINER, secure_routines.sql).
  BlueprintError: { status: 422, sqlstates: ['TY009'] },
  MigrationChecksumError: { status: 422, sqlstates: ['TY002'] },
  // A released control migration (shared/registry/sql/migrations) differs from what the database
  // applied: a build that must not run against this database, whoever called.
  ControlMigrationChangedError: { status: 500 },
  VerificationError: { status: 500 },
  BackupVerificationError: { status: 500 },
  BackupChangedError: { status: 409 },
  RowTooLargeError: { status: 422 },
  ConfigError: { status: 500 },
  StepOutputError: { status: 500 },
} as const satisfies Readonly<Record<string, ErrorSpec>>;

export type ErrorName = keyof typeof ERROR_CATALOGUE;

const specOf = (name: ErrorName): ErrorSpec => ERROR_CATALOGUE[name];

/** The catalogue's errors a retry may help: the workflow's Retry matches them (and LAMBDA_SERVICE_ERRORS). */
export const TRANSIENT_ERROR_NAMES: readonly ErrorName[] = (
  Object.keys(ERROR_CATALOGUE) as ErrorName[]
).filter((name) => specOf(name).retryable === true);

/** The Lambda service's own throttling and transient failures, which the workflow retries too. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * Every error name a workflow step's Retry matches (statemachine/retry.ts): a step that failed
 * with one of these is retried; with any other, it has failed for good (its Catch runs).
 */
export const RETRIED_ERROR_NAMES: readonly string[] = [...TRANSIENT_ERROR_NAMES, ...LAMBDA_SERVICE_ERRORS];

/** Whether the workflow retries a step that failed with this error name. */
export function isRetriedError(name: string): boolean {
  return RETRIED_ERROR_NAMES.includes(name);
}

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
  /** A literal in every class, one of the catalogue's names. */
  abstract override readonly name: ErrorName;
  /** The input field this error is about, when it is about one. */
  readonly field: string | undefined;

  constructor(message: string, options?: TenantryErrorOptions) {
    super(message, options);
    this.field = options?.field;
  }

  get status(): number {
    return specOf(this.name).status;
  }

  get retryable(): boolean {
    return specOf(this.name).retryable === true;
  }

  /** A JSON-safe view for logs, step outputs and API problems; never includes `cause` internals. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message };
  }
}

/** Input that breaks a rule. Carries every offending field so a caller can fix them all at once. */
export class ValidationError extends TenantryError {
  override readonly name: ErrorName = 'ValidationError';
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
  override readonly name: ErrorName = 'PayloadTooLargeError';
}

export class NotFoundError extends TenantryError {
  override readonly name: ErrorName = 'NotFoundError';
}

export class ConflictError extends TenantryError {
  override readonly name: ErrorName = 'ConflictError';
}

/** The tenant is already active (or otherwise not provisionable). */
export class TenantExistsError extends ConflictError {
  override readonly name: ErrorName = 'TenantExistsError';
  constructor(message: string, options?: TenantryErrorOptions) {
    super(message, { field: 'tenantId', ...options });
  }
}

/**
 * The tenant id folds to the schema name another tenant already has (`a-b` and `a_b` both give
 * `tenant_a_b`): refused before any execution starts.
 */
export class SchemaNameTakenError extends ConflictError {
  override readonly name: ErrorName = 'SchemaNameTakenError';
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
export class TenantStateError extends ConflictError {
  override readonly name: ErrorName = 'TenantStateError';
}

/** Another execution owns the tenant right now; this one must not touch it. */
export class TenantBusyError extends ConflictError {
  override readonly name: ErrorName = 'TenantBusyError';
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

/**
 * A domain (a host name) that another tenant holds: a host maps to one tenant at a time. Its
 * field names the entry of the request that asked for it (`domains.2`).
 */
export class DomainTakenError extends ConflictError {
  override readonly name: ErrorName = 'DomainTakenError';
  constructor(message: string, options?: TenantryErrorOptions) {
    super(message, { field: 'domains', ...options });
  }
}

/**
 * The tenant is known but gone for an application (GET /resolve answers 410): disabled, being
 * deprovisioned or deprovisioned. The message says which.
 */
export class TenantGoneError extends TenantryError {
  override readonly name: ErrorName = 'TenantGoneError';
}

/** A fault that may go away by itself: the workflow retries these, and only these. */
export class TransientDatabaseError extends TenantryError {
  override readonly name: ErrorName = 'TransientDatabaseError';
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
  override readonly name: ErrorName = 'DatabaseError';
  constructor(
    message: string,
    /** The Postgres SQLSTATE, when the server sent one. */
    readonly code?: string,
    options?: ErrorOptions & {
      /** The error's DETAIL, when it has one: control functions put what they refer to there. */
      readonly detail?: string | undefined;
    },
  ) {
    super(message, options);
    this.detail = options?.detail;
  }

  readonly detail: string | undefined;

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), code: this.code };
  }
}

/** A blueprint or template on disk is malformed, or an applied migration was changed. */
export class BlueprintError extends TenantryError {
  override readonly name: ErrorName = 'BlueprintError';
  /** Every problem found, each naming its file (and line), when a check found several at once. */
  readonly problems: readonly string[];
  constructor(message: string, options?: TenantryErrorOptions & { readonly problems?: readonly string[] }) {
    super(message, options);
    this.problems = options?.problems ?? [];
  }
}

export class MigrationChecksumError extends BlueprintError {
  override readonly name: ErrorName = 'MigrationChecksumError';
}

/**
 * A control migration file differs from the one the database applied (its checksum says so). A
 * released migration never changes: add a new one. Names the file and both checksums.
 */
export class ControlMigrationChangedError extends TenantryError {
  override readonly name: ErrorName = 'ControlMigrationChangedError';
  constructor(
    readonly file: string,
    readonly recorded: string,
    readonly actual: string,
    options?: ErrorOptions,
  ) {
    super(
      `control migration ${file} was changed after it was applied: the database recorded checksum ${recorded}, ` +
        `the file now has ${actual}. A released migration never changes: restore it and add a new migration.`,
      options,
    );
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file, recorded: this.recorded, actual: this.actual };
  }
}

/** The tenant schema does not match what its blueprint version must produce. */
export class VerificationError extends TenantryError {
  override readonly name: ErrorName = 'VerificationError';
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
  override readonly name: ErrorName = 'ConfigError';
}

/** A backup that does not match its manifest or the live data: nothing may be dropped. */
export class BackupVerificationError extends TenantryError {
  override readonly name: ErrorName = 'BackupVerificationError';
}

/** The schema changed under a backup in progress (its tables are not those it started with). */
export class BackupChangedError extends TenantryError {
  override readonly name: ErrorName = 'BackupChangedError';
}

/** A row too wide for one response of the database's API: it can never be backed up through it. */
export class RowTooLargeError extends TenantryError {
  override readonly name: ErrorName = 'RowTooLargeError';
}

export function isTenantryError(error: unknown): error is TenantryError {
  return error instanceof TenantryError;
}

/** A workflow step returned what its definition (shared/workflows.ts) does not allow: a bug, never retried. */
export class StepOutputError extends TenantryError {
  override readonly name: ErrorName = 'StepOutputError';
}
