import { createHash } from 'node:crypto';
import type { SqlExecutor } from './sql/port';

/**
 * A catalog fingerprint of one schema: every table, column, constraint, index, sequence, view,
 * type, domain, function and trigger as one sorted line each, with the schema's own name removed,
 * so that two tenants of one blueprint version (on Postgres 15 or PGlite's 18) give the same lines.
 * Read in one statement. Tenantry's own ledger table is left out.
 */
const CATALOG_SQL = `
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
rels AS (
  SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN ns ON c.relnamespace = ns.oid
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relname NOT LIKE '\\_tenantry%'
)
SELECT line FROM (
  SELECT CASE relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'matview ' ELSE 'table ' END
         || relname AS line FROM rels
  UNION ALL
  SELECT 'column ' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END
         || CASE WHEN a.attgenerated = 's' THEN ' generated' ELSE '' END
         || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE r.relkind <> 'S' AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint ' || r.relname || '.' || con.conname || ' ' || pg_get_constraintdef(con.oid)
    FROM pg_constraint con JOIN rels r ON r.oid = con.conrelid
   WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
  UNION ALL
  SELECT 'index ' || r.relname || '.' || i.relname || ' ' || pg_get_indexdef(i.oid)
    FROM pg_index x JOIN rels r ON r.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
  UNION ALL
  SELECT 'trigger ' || r.relname || '.' || t.tgname || ' ' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid
   WHERE NOT t.tgisinternal
  UNION ALL
  SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
         || CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'returns ' || pg_get_function_result(p.oid) END
         || ' ' || l.lanname || ' ' || md5(p.prosrc)
    FROM pg_proc p JOIN ns ON p.pronamespace = ns.oid JOIN pg_language l ON l.oid = p.prolang
  UNION ALL
  SELECT CASE t.typtype WHEN 'e' THEN 'enum ' || t.typname || ' ('
              || (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
         ELSE 'domain ' || t.typname || ' ' || format_type(t.typbasetype, t.typtypmod)
              || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END
              || coalesce(' default ' || t.typdefault, '')
              || coalesce((SELECT ' ' || string_agg(pg_get_constraintdef(dc.oid), ' ' ORDER BY dc.conname)
                             FROM pg_constraint dc WHERE dc.contypid = t.oid AND dc.contype = 'c'), '')
         END
    FROM pg_type t JOIN ns ON t.typnamespace = ns.oid
   WHERE t.typtype IN ('e', 'd')
) lines`;

export interface CatalogFingerprint {
  readonly fingerprint: string;
  readonly objects: readonly string[];
}

function normalise(line: string, schema: string): string {
  // Names of objects in the schema itself print qualified unless the schema is on search_path.
  return line.replaceAll(`"${schema}".`, '').replaceAll(`${schema}.`, '').replace(/\s+/g, ' ').trim();
}

export function fingerprintOf(objects: readonly string[]): string {
  return createHash('sha256').update(objects.join('\n')).digest('hex');
}

export async function readCatalog(db: SqlExecutor, schema: string): Promise<CatalogFingerprint> {
  const { rows } = await db.query<{ line: string }>(CATALOG_SQL, [schema]);
  const objects = rows.map((r) => normalise(r.line, schema)).sort();
  return { fingerprint: fingerprintOf(objects), objects };
}

export interface CatalogDiff {
  readonly missing: string[];
  readonly unexpected: string[];
}

export function diffCatalog(expected: readonly string[], actual: readonly string[]): CatalogDiff {
  const a = new Set(actual);
  const e = new Set(expected);
  return {
    missing: expected.filter((x) => !a.has(x)),
    unexpected: actual.filter((x) => !e.has(x)),
  };
}
