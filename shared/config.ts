import { resolve } from 'node:path';
import * as z from 'zod';
import { ConfigError } from './errors';

/**
 * Where the database is, read once from the environment and validated:
 * - `TENANTRY_DB_CLUSTER_ARN` + `TENANTRY_DB_SECRET_ARN` (+ `TENANTRY_DB_NAME`): Aurora through the RDS Data API (AWS);
 * - `DATABASE_URL`: a Postgres server;
 * - otherwise embedded PGlite, its data under `TENANTRY_DATA_DIR` (default `.tenantry/pgdata`).
 */
export const DatabaseEnvSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  TENANTRY_DATA_DIR: z.string().min(1).optional(),
  TENANTRY_DB_CLUSTER_ARN: z.string().startsWith('arn:').optional(),
  TENANTRY_DB_SECRET_ARN: z.string().startsWith('arn:').optional(),
  TENANTRY_DB_NAME: z.string().min(1).optional(),
  AWS_ENDPOINT_URL: z.string().url().optional(),
});
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
export const DeprovisionEnvSchema = z.object({
  TENANTRY_BACKUP_BUCKET: z.string().min(3).optional(),
  TENANTRY_BACKUP_DIR: z.string().min(1).optional(),
  TENANTRY_EVENT_BUS_NAME: z.string().min(1).optional(),
});

export const DEFAULT_BACKUP_DIR = '.tenantry/backups';

export type BackupConfig =
  | { readonly kind: 's3'; readonly bucket: string }
  | { readonly kind: 'folder'; readonly dir: string };
export type EventsConfig =
  | { readonly kind: 'eventbridge'; readonly busName: string }
  | { readonly kind: 'outbox' };

function deprovisionEnv(env: NodeJS.ProcessEnv) {
  const parsed = DeprovisionEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

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
