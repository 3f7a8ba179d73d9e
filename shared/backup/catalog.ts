import type { SqlExecutor } from '../sql/port';
import type { CopyColumn } from './copy-text';

export interface BackupColumn extends CopyColumn {
  /** The type as SQL names it, without modifiers (`numeric`, `public.mood[]`): what a value is cast to. */
  readonly type: string;
}

export interface BackupTable {
  readonly name: string;
  /** Every stored column in table order: generated columns are left out, as COPY leaves them out. */
  readonly columns: readonly BackupColumn[];
  /**
   * The primary key, which orders the rows and pages through them (keyset paging). A table without
   * one is paged by its physical row position (`ctid`), stable within the backup's snapshot.
   */
  readonly key: readonly BackupColumn[] | null;
}

/**
 * The tables whose rows a backup holds: every plain table of the schema, including inheritance
 * children and partitions, each read with ONLY so that no row is read twice. Partitioned parents
 * hold no rows of their own and are left out.
 */
export async function backupTables(db: SqlExecutor, schema: string): Promise<BackupTable[]> {
  const { rows } = await db.query<{ table: string; columns: BackupColumn[]; key: string[] | null }>(
    `SELECT c.relname AS table,
            coalesce((SELECT jsonb_agg(jsonb_build_object('name', a.attname, 'typeOid', a.atttypid::bigint,
                                                          'type', format_type(a.atttypid, NULL)) ORDER BY a.attnum)
                        FROM pg_attribute a
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''),
                     '[]'::jsonb) AS columns,
            (SELECT jsonb_agg(a.attname ORDER BY k.ord)
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary) AS key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'
      ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
  return rows.map((r) => {
    const byName = new Map(r.columns.map((c) => [c.name, c]));
    const key = r.key?.map((name) => byName.get(name)).filter((c): c is BackupColumn => c !== undefined);
    return {
      name: r.table,
      columns: r.columns,
      key: key && key.length === r.key?.length && key.length > 0 ? key : null,
    };
  });
}

/** Every sequence of the schema, owned by a column or not (identity sequences included). */
export async function backupSequences(db: SqlExecutor, schema: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
  return rows.map((r) => r.name);
}
