import { spawn } from 'node:child_process';
import type pg from 'pg';
import type { Blueprint, Migration } from '../shared/blueprint';
import { quoteIdent, quoteLiteral } from '../shared/identifiers';

/**
 * The floor: the same blueprint as one SQL script per tenant. No ledger, registry, audit trail,
 * verification or history: just the tenant's own DDL (its routines pinned, as SyncTables does), indexes and seed rows, which is the least any
 * provisioning path has to do. It runs inside one transaction (`SET LOCAL`), either as one
 * multi-statement query on a connection that is already open (`applyFloorQuery`, the floor the
 * ratio is taken against) or as one `psql --single-transaction` (`runPsql`, the "one psql per
 * tenant" baseline, process start and connection included).
 *
 * `seed: false` leaves the seed rows out (the fleet of existing tenants only needs their catalog).
 */
export function floorScript(blueprint: Blueprint, schema: string, options: { seed?: boolean } = {}): string {
  const parts = floorParts(blueprint, schema, options);
  return `${[`CREATE SCHEMA ${quoteIdent(schema)};`, parts.searchPath, ...parts.tables, ...parts.indexes, ...parts.seed].join('\n')}\n`;
}

/**
 * The floor's SQL cut where Provision's steps commit: CREATE SCHEMA (CreateSchema), the migrations
 * with the routines pinned (SyncTables), the indexes (CreateIndexes), the seed rows (Seed). Each is
 * a script for a transaction of its own (`SET LOCAL search_path` first where it needs one). The
 * provisioning bench runs them one after the other on an open connection: the least a workflow
 * with these steps does, before any bookkeeping of its own.
 */
export function floorSteps(blueprint: Blueprint, schema: string): string[] {
  const parts = floorParts(blueprint, schema, {});
  const inSchema = (statements: readonly string[]) => `${[parts.searchPath, ...statements].join('\n')}\n`;
  return [
    `CREATE SCHEMA ${quoteIdent(schema)};\n`,
    inSchema(parts.tables),
    inSchema(parts.indexes),
    inSchema(parts.seed),
  ];
}

function floorParts(
  blueprint: Blueprint,
  schema: string,
  options: { seed?: boolean },
): { searchPath: string; tables: string[]; indexes: string[]; seed: string[] } {
  const tables = blueprint.migrations.map((migration) => withSemicolon(migration.sql));
  // What SyncTables does after the migrations (secure_routines.sql): each sql/plpgsql routine pinned
  // to the tenant schema. (The benched blueprints declare no SECURITY DEFINER routine.)
  tables.push(
    `DO $pin$ DECLARE r record; BEGIN
       FOR r IN SELECT p.oid::regprocedure AS sig, p.prokind FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                 WHERE p.pronamespace = ${quoteLiteral(schema)}::regnamespace AND p.prokind IN ('f', 'p')
                   AND l.lanname IN ('sql', 'plpgsql') LOOP
         EXECUTE format('ALTER %s %s SET search_path = %I, pg_temp',
                        CASE r.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.sig, ${quoteLiteral(schema)});
       END LOOP;
     END $pin$;`,
  );
  const indexes = blueprint.indexes.map((index) => withSemicolon(index.sql));
  const seed = (options.seed === false ? [] : blueprint.seed).map((table) => {
    // The union of the rows' keys, as tenantry.seed_tables builds its column list.
    const columns = [...new Set(table.rows.flatMap((row) => Object.keys(row)))].sort();
    const cols = columns.map(quoteIdent).join(', ');
    const t = quoteIdent(table.table);
    return (
      `INSERT INTO ${t} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${t}, ` +
      `${quoteLiteral(JSON.stringify(table.rows))}::jsonb) ON CONFLICT DO NOTHING;`
    );
  });
  return { searchPath: `SET LOCAL search_path TO ${quoteIdent(schema)};`, tables, indexes, seed };
}

/**
 * Runs a floor script as ONE simple-protocol query (`BEGIN; …; COMMIT;`) on an open connection:
 * one round trip, one commit. On failure the transaction is rolled back and the error rethrown.
 */
export async function applyFloorQuery(client: pg.Client, script: string): Promise<void> {
  try {
    await client.query(`BEGIN;\n${script}COMMIT;`);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

function withSemicolon(sql: string): string {
  const trimmed = sql.trimEnd();
  return trimmed.endsWith(';') ? trimmed : `${trimmed};`;
}

/**
 * The floor of one tenant's migration (the rollout bench): the migration's SQL with the tenant's
 * schema on search_path, its row in the schema's ledger and the registry's version, as the body of
 * ONE transaction (`applyFloorQuery` adds BEGIN and COMMIT). No claim, plan, catalog check, audit
 * trail or history: the least a migration path has to do to leave the tenant at the new version.
 */
export function migrationFloorScript(tenantId: string, schema: string, migration: Migration): string {
  const parts = [
    `SET LOCAL search_path TO ${quoteIdent(schema)};`,
    withSemicolon(migration.sql),
    `INSERT INTO ${quoteIdent(schema)}._tenantry_migrations (version, name, checksum, execution_id) ` +
      `VALUES (${migration.version}, ${quoteLiteral(migration.name)}, ${quoteLiteral(migration.checksum)}, 'bench-floor');`,
    `UPDATE tenantry.tenants SET blueprint_version = ${migration.version}, updated_at = now() ` +
      `WHERE tenant_id = ${quoteLiteral(tenantId)};`,
  ];
  return `${parts.join('\n')}\n`;
}

/** Runs one SQL file through psql in a single transaction; rejects with psql's stderr on failure. */
export function runPsql(url: string, file: string): Promise<void> {
  return psql(['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', url, '-f', file]);
}

/**
 * Runs `psql -c <sql>`: one new process and connection, the string sent as one query (a script
 * with its own BEGIN and COMMIT is one transaction), as a shell loop over tenants does.
 */
export function runPsqlCommand(url: string, sql: string): Promise<void> {
  return psql(['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
}

function psql(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`psql exited with ${code}: ${stderr.trim().slice(0, 2000)}`));
    });
  });
}
