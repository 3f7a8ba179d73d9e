import type { AdminUserRequest, TableRows } from './schema';

/** The admin rows with the request's values in place of the {{admin.*}} placeholders. */
export function fillAdminRows(rows: readonly TableRows[], admin: AdminUserRequest): TableRows[] {
  const values: Record<string, string> = {
    '{{admin.email}}': admin.email,
    '{{admin.name}}': admin.name,
    '{{admin.passwordHash}}': admin.passwordHash,
  };
  return rows.map((t) => ({
    table: t.table,
    rows: t.rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && v in values ? values[v] : v]),
      ),
    ),
  }));
}

/** Stand-in values for checking a template before any real admin exists. */
export const SAMPLE_ADMIN: AdminUserRequest = {
  email: 'admin@example.com',
  name: 'Sample Admin',
  passwordHash: 'scrypt$16384$8$1$c2FtcGxl$c2FtcGxl',
};
