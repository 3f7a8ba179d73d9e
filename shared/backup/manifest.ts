import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { SqlExecutor } from '../sql/port';
import { lazySchema } from '../validation';

/**
 * The session settings a backup's values were written under, and that a load must use: dates in
 * ISO order, intervals in the postgres style, times in UTC with their offset, floats with every
 * digit, bytea in hex. `psql \copy` users set the same (docs/backups.md).
 */
export const COPY_SETTINGS = {
  DateStyle: 'ISO, MDY',
  IntervalStyle: 'postgres',
  TimeZone: 'UTC',
  extra_float_digits: '3',
  bytea_output: 'hex',
} as const;

/** The transaction-local settings every value is written (and read back) under. */
export async function applyCopySettings(tx: SqlExecutor): Promise<void> {
  const entries = Object.entries(COPY_SETTINGS);
  await tx.query(
    `SELECT ${entries.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
    entries.flat(),
  );
}

/** The checksum the manifest records for a part: SHA-256 of its bytes, lowercase hex. */
export function partChecksum(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** A table's checksum: sha256 over its parts' checksums, one per line (documented in docs/backups.md). */
export function tableChecksum(parts: readonly { sha256: string }[]): string {
  return partChecksum(parts.map((p) => `${p.sha256}\n`).join(''));
}

const PartSchema = lazySchema(() =>
  z.object({
    key: z.string(),
    rows: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
);

const TableSchema = lazySchema(() =>
  z.object({
    table: z.string(),
    /** The columns of each line, in order (generated columns are not stored). */
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    rows: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    /** sha256 of the parts' sha256 values, one per line in part order. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    parts: z.array(PartSchema),
  }),
);

const SequenceSchema = lazySchema(() =>
  z.object({
    sequence: z.string(),
    /** bigint, as decimal text: it never passes through a JavaScript number. */
    lastValue: z.string().regex(/^-?\d+$/),
    isCalled: z.boolean(),
  }),
);

const Header = {
  tenantId: z.string(),
  schema: z.string(),
  blueprint: z.string(),
  blueprintVersion: z.number(),
  templateId: z.string().nullable(),
  templateVersion: z.number().nullable(),
  executionId: z.string(),
  createdAt: z.string(),
  retention: z.enum(['expire', 'preserve']),
};

/** Format 2: every table as PostgreSQL COPY text parts, and every sequence's state. */
export const BackupManifestSchema = lazySchema(() =>
  z.object({
    format: z.literal('tenantry-backup/2'),
    ...Header,
    copy: z.object({
      format: z.literal('text'),
      encoding: z.literal('UTF8'),
      settings: z.record(z.string(), z.string()),
    }),
    tables: z.array(TableSchema),
    sequences: z.array(SequenceSchema),
  }),
);
export type BackupManifest = z.infer<typeof BackupManifestSchema>;
export type BackupManifestTable = BackupManifest['tables'][number];
export type BackupManifestSequence = BackupManifest['sequences'][number];

/** Format 1 (before 2026-12): one `to_jsonb(row)` NDJSON line per row. Still restorable. */
export const LegacyBackupManifestSchema = lazySchema(() =>
  z.object({
    format: z.literal('tenantry-backup/1'),
    ...Header,
    tables: z.array(
      z.object({
        table: z.string(),
        rows: z.number(),
        sha256: z.string(),
        parts: z.array(z.object({ key: z.string(), rows: z.number(), sha256: z.string() })),
      }),
    ),
  }),
);
export type LegacyBackupManifest = z.infer<typeof LegacyBackupManifestSchema>;

export const AnyBackupManifestSchema = lazySchema(() =>
  z.discriminatedUnion('format', [BackupManifestSchema, LegacyBackupManifestSchema]),
);

/** The progress of a backup cut across several invocations: the tables done so far. */
export const BackupProgressSchema = lazySchema(() =>
  z.object({
    // The last table may be part-way: its checksum is computed once its last part is written.
    tables: z.array(TableSchema.unwrap().extend({ sha256: z.string() })),
  }),
);
export type BackupProgress = z.infer<typeof BackupProgressSchema>;
