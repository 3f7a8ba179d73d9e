import { resolve } from 'node:path';
import * as z from 'zod';
import { ConfigError } from './errors';
import { lazySchema } from './validation';

/**
 * Where the database is, read once from the environment and validated:
 * - `TENANTRY_DB_CLUSTER_ARN` + `TENANTRY_DB_SECRET_ARN` (+ `TENANTRY_DB_NAME`): Aurora through the RDS Data API (AWS);
 * - `DATABASE_URL`: a Postgres server;
 * - otherwise embedded PGlite, its data under `TENANTRY_DATA_DIR` (default `.tenantry/pgdata`).
 */
export const DatabaseEnvSchema = lazySchema(() =>
  z.object({
    DATABASE_URL: z.string().url().optional(),
    TENANTRY_DATA_DIR: z.string().min(1).optional(),
    TENANTRY_DB_CLUSTER_ARN: z.string().startsWith('arn:').optional(),
    TENANTRY_DB_SECRET_ARN: z.string().startsWith('arn:').optional(),
    TENANTRY_DB_NAME: z.string().min(1).optional(),
    AWS_ENDPOINT_URL: z.string().url().optional(),
  }),
);
export type DatabaseEnv = z.infer<typeof DatabaseEnvSchema>;

export type DatabaseConfig =
  | { readonly kind: 'pglite'; readonly dataDir: string | undefined }
  | { readonly kind: 'postgres'; readonly url: string }
  | {
      readonly kind: 'data-api';
      readonly clusterArn: string;
      readonly secretArn: string;
      readonly database: string;
      readonly endpoint: string | undefined;
    };

export const DEFAULT_DATA_DIR = '.tenantry/pgdata';

export function databaseConfigFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  const parsed = DatabaseEnvSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid database environment: ${detail}`);
  }
  const e = parsed.data;
  if (e.TENANTRY_DB_CLUSTER_ARN || e.TENANTRY_DB_SECRET_ARN) {
    if (!e.TENANTRY_DB_CLUSTER_ARN || !e.TENANTRY_DB_SECRET_ARN) {
      throw new ConfigError('TENANTRY_DB_CLUSTER_ARN and TENANTRY_DB_SECRET_ARN must be set together');
    }
    return {
      kind: 'data-api',
      clusterArn: e.TENANTRY_DB_CLUSTER_ARN,
      secretArn: e.TENANTRY_DB_SECRET_ARN,
      database: e.TENANTRY_DB_NAME ?? 'tenantry',
      endpoint: e.AWS_ENDPOINT_URL,
    };
  }
  if (e.DATABASE_URL) return { kind: 'postgres', url: e.DATABASE_URL };
  return { kind: 'pglite', dataDir: resolve(e.TENANTRY_DATA_DIR ?? DEFAULT_DATA_DIR) };
}

/**
 * Where backups and events go: an S3 bucket and an EventBridge bus on AWS (set by infra), else a
 * local folder and the control schema's outbox table.
 */
export const DeprovisionEnvSchema = lazySchema(() =>
  z.object({
    TENANTRY_BACKUP_BUCKET: z.string().min(3).optional(),
    TENANTRY_BACKUP_DIR: z.string().min(1).optional(),
    TENANTRY_EVENT_BUS_NAME: z.string().min(1).optional(),
  }),
);

export const DEFAULT_BACKUP_DIR = '.tenantry/backups';

export type BackupConfig =
  | { readonly kind: 's3'; readonly bucket: string }
  | { readonly kind: 'folder'; readonly dir: string };
export type EventsConfig =
  | { readonly kind: 'eventbridge'; readonly busName: string }
  | { readonly kind: 'outbox' };

/** The environment as `schema` reads it; a ConfigError naming every bad variable otherwise. */
function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

const deprovisionEnv = (env: NodeJS.ProcessEnv) => parseEnv(DeprovisionEnvSchema, env);

export function backupConfigFromEnv(env: NodeJS.ProcessEnv = process.env): BackupConfig {
  const e = deprovisionEnv(env);
  if (e.TENANTRY_BACKUP_BUCKET) return { kind: 's3', bucket: e.TENANTRY_BACKUP_BUCKET };
  return { kind: 'folder', dir: resolve(e.TENANTRY_BACKUP_DIR ?? DEFAULT_BACKUP_DIR) };
}

export function eventsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): EventsConfig {
  const e = deprovisionEnv(env);
  return e.TENANTRY_EVENT_BUS_NAME
    ? { kind: 'eventbridge', busName: e.TENANTRY_EVENT_BUS_NAME }
    : { kind: 'outbox' };
}

/** A Secrets Manager secret name prefix: 1-400 letters, digits and `/_+=.@-`. */
export const SECRET_NAME_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,400}$/;

/**
 * Where the passwords of tenants' own logins go (shared/tenant-login/): on AWS a Secrets Manager
 * secret per tenant, named under `TENANTRY_TENANT_LOGIN_SECRET_PREFIX` (set by infra, with the
 * cluster's endpoint when the stack made it); locally a file per tenant in `TENANTRY_SECRETS_DIR`
 * (default `.tenantry/secrets`), with the host and port of `DATABASE_URL` when there is one.
 */
export const TenantLoginEnvSchema = lazySchema(() =>
  z.object({
    TENANTRY_TENANT_LOGIN_SECRET_PREFIX: z
      .string()
      .regex(SECRET_NAME_PREFIX, 'must be a Secrets Manager name prefix')
      .optional(),
    TENANTRY_TENANT_LOGIN_HOST: z.string().min(1).optional(),
    TENANTRY_TENANT_LOGIN_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    TENANTRY_SECRETS_DIR: z.string().min(1).optional(),
    DATABASE_URL: z.string().url().optional(),
    /** Set by Lambda: there, a function without the prefix was not granted the secrets. */
    AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
  }),
);

export const DEFAULT_SECRETS_DIR = '.tenantry/secrets';

/** How a client reaches the database, as a login's secret tells it (when it is known). */
export interface DatabaseEndpoint {
  readonly host?: string;
  readonly port?: number;
}

export type TenantLoginConfig =
  | ({ readonly kind: 'secrets-manager'; readonly prefix: string } & DatabaseEndpoint)
  | ({ readonly kind: 'folder'; readonly dir: string } & DatabaseEndpoint);

export function tenantLoginConfigFromEnv(env: NodeJS.ProcessEnv = process.env): TenantLoginConfig {
  const e = parseEnv(TenantLoginEnvSchema, env);
  if (e.TENANTRY_TENANT_LOGIN_SECRET_PREFIX) {
    return {
      kind: 'secrets-manager',
      prefix: e.TENANTRY_TENANT_LOGIN_SECRET_PREFIX,
      ...(e.TENANTRY_TENANT_LOGIN_HOST ? { host: e.TENANTRY_TENANT_LOGIN_HOST } : {}),
      ...(e.TENANTRY_TENANT_LOGIN_PORT ? { port: e.TENANTRY_TENANT_LOGIN_PORT } : {}),
    };
  }
  if (e.AWS_LAMBDA_FUNCTION_NAME) {
    throw new ConfigError(
      'this function may not touch tenant login secrets (no TENANTRY_TENANT_LOGIN_SECRET_PREFIX): infra grants them with TenantryDatabase.useTenantLoginSecrets',
    );
  }
  const url = e.DATABASE_URL ? new URL(e.DATABASE_URL) : undefined;
  return {
    kind: 'folder',
    dir: resolve(e.TENANTRY_SECRETS_DIR ?? DEFAULT_SECRETS_DIR),
    ...(url?.hostname ? { host: decodeURIComponent(url.hostname), port: Number(url.port || 5432) } : {}),
  };
}
