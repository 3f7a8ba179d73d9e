import { BlueprintError } from '../errors';
import { quoteIdent } from '../identifiers';
import type { SqlExecutor, SqlTransaction } from '../sql/port';
import { parseCopyText } from './copy-text';
import type { BackupManifestSequence, BackupManifestTable } from './manifest';

/** JSON characters per INSERT when loading without COPY: well inside the Data API's 4 MiB request. */
const INSERT_PAYLOAD_CHARS = 512 * 1024;

interface TargetColumn {
  readonly name: string;
  readonly type: string;
}

/** The target table's stored columns that the backup holds, with the type each value is read as. */
async function targetColumns(
  tx: SqlExecutor,
  schema: string,
  table: BackupManifestTable,
): Promise<TargetColumn[]> {
  const { rows } = await tx.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''`,
    [`${quoteIdent(schema)}.${quoteIdent(table.table)}`],
  );
  const byName = new Map(rows.map((r) => [r.name, r]));
  const missing = table.columns.filter((c) => !byName.has(c.name)).map((c) => c.name);
  if (missing.length > 0) {
    throw new BlueprintError(
      `table ${table.table} has no column ${missing.join(', ')} that the backup holds: the schema is not the one backed up`,
    );
  }
  return table.columns.map((c) => byName.get(c.name) as TargetColumn);
}

/**
 * Loads one backup part (COPY text) into its table and returns the rows loaded. With a backend
 * that speaks COPY (pg, PGlite) the part goes in as it is, `COPY ... FROM STDIN`; otherwise (the
 * Data API) each line is split into its values, which travel as JSON strings and are cast by the
 * column's type input function in SQL: no value passes through a JavaScript number either way.
 * The session must use the backup's settings (applyCopySettings).
 */
export async function loadPart(
  tx: SqlTransaction,
  schema: string,
  table: BackupManifestTable,
  body: string,
  columns?: readonly TargetColumn[],
): Promise<number> {
  if (body === '') return 0;
  const target = `${quoteIdent(schema)}.${quoteIdent(table.table)}`;
  const names = table.columns.map((c) => quoteIdent(c.name)).join(', ');
  if (tx.copyIn) return tx.copyIn(`COPY ${target} (${names}) FROM STDIN`, body);

  const typed = columns ?? (await targetColumns(tx, schema, table));
  const values = typed.map((c, i) => `(e->>${i})::${c.type}`).join(', ');
  const insert = `INSERT INTO ${target} (${names}) OVERRIDING SYSTEM VALUE SELECT ${values} FROM jsonb_array_elements($1::jsonb) AS e`;
  let loaded = 0;
  let batch: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const result = await tx.query(insert, [`[${batch.join(',')}]`]);
    loaded += result.rowCount;
    batch = [];
    bytes = 0;
  };
  for (const row of parseCopyText(body, table.columns.length)) {
    const json = JSON.stringify(row);
    if (bytes + json.length > INSERT_PAYLOAD_CHARS) await flush();
    batch.push(json);
    bytes += json.length + 1;
  }
  await flush();
  return loaded;
}

/** The columns `loadPart` casts to, read once per table. */
export function columnsFor(tx: SqlExecutor, schema: string, table: BackupManifestTable) {
  return targetColumns(tx, schema, table);
}

/** Every sequence back at its backed-up position, in one statement. */
export async function restoreSequences(
  tx: SqlExecutor,
  schema: string,
  sequences: readonly BackupManifestSequence[],
): Promise<void> {
  if (sequences.length === 0) return;
  const { rows: missing } = await tx.query<{ sequence: string }>(
    `SELECT s.sequence FROM jsonb_array_elements_text($2::jsonb) AS s(sequence)
      WHERE to_regclass(format('%I.%I', $1::text, s.sequence)) IS NULL`,
    [schema, JSON.stringify(sequences.map((s) => s.sequence))],
  );
  if (missing.length > 0) {
    throw new BlueprintError(
      `the backup has sequences the blueprint does not make: ${missing.map((m) => m.sequence).join(', ')}`,
    );
  }
  await tx.query(
    `SELECT setval(to_regclass(format('%I.%I', $1::text, s.sequence)), s.last_value::bigint, s.is_called)
       FROM jsonb_to_recordset($2::jsonb) AS s(sequence text, last_value text, is_called boolean)`,
    [
      schema,
      JSON.stringify(
        sequences.map((s) => ({ sequence: s.sequence, last_value: s.lastValue, is_called: s.isCalled })),
      ),
    ],
  );
}
