import { spawn } from 'node:child_process';
import type { Blueprint } from '../shared/blueprint';
import { quoteIdent, quoteLiteral } from '../shared/identifiers';

/**
 * The floor: the same blueprint as one SQL file per tenant, applied by one
 * `psql --single-transaction`. No ledger, registry, audit trail, verification or history: just the
 * tenant's own DDL and seed rows, which is the least any provisioning path has to do.
 */
export function floorScript(blueprint: Blueprint, schema: string): string {
  const parts: string[] = [
    `CREATE SCHEMA ${quoteIdent(schema)};`,
    `SET search_path TO ${quoteIdent(schema)};`,
  ];
  for (const migration of blueprint.migrations) parts.push(withSemicolon(migration.sql));
  for (const index of blueprint.indexes) parts.push(withSemicolon(index.sql));
  for (const table of blueprint.seed) {
    // The union of the rows' keys, as tenantry.seed_tables builds its column list.
    const columns = [...new Set(table.rows.flatMap((row) => Object.keys(row)))].sort();
    const cols = columns.map(quoteIdent).join(', ');
    const t = quoteIdent(table.table);
    parts.push(
      `INSERT INTO ${t} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${t}, ` +
        `${quoteLiteral(JSON.stringify(table.rows))}::jsonb) ON CONFLICT DO NOTHING;`,
    );
  }
  return `${parts.join('\n')}\n`;
}

function withSemicolon(sql: string): string {
  const trimmed = sql.trimEnd();
  return trimmed.endsWith(';') ? trimmed : `${trimmed};`;
}

/** Runs one SQL file through psql in a single transaction; rejects with psql's stderr on failure. */
export function runPsql(url: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', url, '-f', file],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
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
