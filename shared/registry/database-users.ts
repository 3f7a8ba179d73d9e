import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { ConfigError, DatabaseError } from '../errors';
import type { SqlClient } from '../sql/port';
import { CONTROL_SCHEMA, TENANT_SCHEMA_PREFIX } from '../tenant-id';
import { ensureControlSchema } from './control';
import { type ControlSql, loadControlSql } from './control-files';

/**
 * Least privilege in the database, set up at deploy time (functions/setup/database-users.ts, a
 * CloudFormation custom resource; infra/constructs/database.ts). Two runtime logins, each with a
 * secret of its own:
 *
 * - the **owner**, for the workflow steps, the writing API routes and the reconciler: it owns the
 *   control schema and the tenant schemas it creates (CREATE on the database; CREATEROLE for the
 *   role of each tenant, sql/functions/grant_tenant_role.sql, and tenantry_app, control migration
 *   0018);
 * - the **reader**, for the read-only API routes: a member of `tenantry_reader` (control migration
 *   0017), which may read the control schema and nothing else.
 *
 * The master user is used by this setup only: it makes or updates both logins (sql/setup/logins.sql),
 * hands the owner whatever schemas it made itself before the owner existed (sql/setup/transfer.sql),
 * and the control schema is then applied as the owner. A password is never in a statement's text:
 * the database gets a SCRAM-SHA-256 verifier computed here (the only encryption the Data API accepts
 * on Aurora PostgreSQL 14 and later), as a bound parameter, and builds the ALTER ROLE itself.
 */

/** The two runtime logins. */
export const DATABASE_LOGINS = ['owner', 'reader'] as const;
export type DatabaseLogin = (typeof DATABASE_LOGINS)[number];

/** What a login's secret holds (an RDS database secret: `username`, `password` and more). */
export const LoginSecretSchema = z.object({
  username: z.string().min(1).max(63),
  password: z.string().min(1),
});
export type LoginSecret = z.infer<typeof LoginSecretSchema>;

/**
 * The custom resource's properties (infra/constructs/database.ts): where the cluster is and the
 * three secrets. `Fingerprint` only makes CloudFormation run an Update, and so the setup, whenever
 * the control SQL or the setup changes.
 */
export const DatabaseUsersPropertiesSchema = z.object({
  ClusterArn: z.string().startsWith('arn:'),
  Database: z.string().min(1),
  MasterSecretArn: z.string().startsWith('arn:'),
  OwnerSecretArn: z.string().startsWith('arn:'),
  ReaderSecretArn: z.string().startsWith('arn:'),
  Fingerprint: z.string().optional(),
});
export type DatabaseUsersProperties = z.infer<typeof DatabaseUsersPropertiesSchema>;

export type DatabaseLoginSecrets = Readonly<Record<DatabaseLogin, LoginSecret>>;

export interface DatabaseUsersReport {
  /** The logins made by this run (none when they existed). */
  readonly created: readonly string[];
  /** Schemas and objects the master owned that now belong to the owner. */
  readonly transferred: number;
  /** Tenant roles (definer roles before release 9) made before the owner existed, now administered by it too. */
  readonly definerRoles: readonly string[];
  /** Tenant roles the master could not hand over (made by another role): the owner cannot drop them. */
  readonly unmanagedDefinerRoles: readonly string[];
  /** The control schema's version after the run. */
  readonly controlVersion: number;
  /**
   * Whether the Data API logged in as each login's own user. An emulator may not (LocalStack may
   * run every secret's statements as one user): the logins are made all the same, but the reader
   * could not be checked as itself.
   */
  readonly asLogins: boolean;
}

export interface DatabaseUsersOptions {
  readonly sql?: ControlSql;
  /** Schemas handed over per call (one Data API call each). @default 200 */
  readonly transferBatch?: number;
}

/** The PBKDF2 iterations PostgreSQL itself uses for a SCRAM-SHA-256 verifier (scram_iterations). */
const SCRAM_ITERATIONS = 4096;

/** Printable ASCII: what SASLprep leaves as it is, so the verifier is the one the server would make. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * A SCRAM-SHA-256 verifier for `password`, in the form PostgreSQL stores
 * (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5802/7677). Given to ALTER ROLE
 * ... PASSWORD, the server keeps it as it is: the password itself never leaves this process.
 */
export function scramVerifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): string {
  if (!PRINTABLE_ASCII.test(password))
    throw new ConfigError('a login password must be printable ASCII (the generated ones are)');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const b64 = (b: Buffer) => b.toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

function setupSql(sql: ControlSql, file: 'logins' | 'transfer'): string {
  return readFileSync(join(sql.dir, 'setup', `${file}.sql`), 'utf8');
}

const REPORT = "SELECT current_setting('tenantry.setup_report') AS report";

/**
 * The schemas the master owns, or owns objects in, among those Tenantry uses: the control schema,
 * the registry's tenant schemas, and any `tenant_` schema (one a crash left unregistered).
 */
async function schemasToHandOver(master: SqlClient): Promise<string[]> {
  const { rows: registry } = await master.query<{ present: boolean }>(
    `SELECT to_regclass('${CONTROL_SCHEMA}.tenants') IS NOT NULL AS present`,
  );
  const registered = registry[0]?.present
    ? ` OR n.nspname IN (SELECT schema_name FROM ${CONTROL_SCHEMA}.tenants)`
    : '';
  const { rows } = await master.query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_namespace n
      WHERE (n.nspname = $1 OR starts_with(n.nspname, $2)${registered})
        AND (n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
             OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user))
             OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.pronamespace = n.oid AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user))
             OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typnamespace = n.oid AND t.typowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)))
      ORDER BY n.nspname <> $1, n.nspname`,
    [CONTROL_SCHEMA, TENANT_SCHEMA_PREFIX],
  );
  return rows.map((r) => r.name);
}

/**
 * Makes or updates the two runtime logins and hands the owner the control schema, as the master;
 * then applies the control schema as the owner and re-grants the reader its read; then checks, as
 * the reader, that it can read the control schema and write none of it. Idempotent: a second run
 * changes only the verifiers (a new salt) and picks up a changed password. It never drops a role
 * or changes data.
 *
 * `loginAs` opens a client that logs in as that login (on AWS: the Data API with its secret).
 */
export async function setUpDatabaseUsers(
  master: SqlClient,
  loginAs: (login: DatabaseLogin) => SqlClient,
  logins: DatabaseLoginSecrets,
  options: DatabaseUsersOptions = {},
): Promise<DatabaseUsersReport> {
  const sql = options.sql ?? loadControlSql();
  const batch = options.transferBatch ?? 200;
  const owner = logins.owner.username;

  const made = await master.transaction(async (tx) => {
    await tx.query(
      `SELECT set_config('tenantry.setup_owner', $1, true) IS NOT NULL
          AND set_config('tenantry.setup_owner_verifier', $2, true) IS NOT NULL
          AND set_config('tenantry.setup_reader', $3, true) IS NOT NULL
          AND set_config('tenantry.setup_reader_verifier', $4, true) IS NOT NULL AS set`,
      [
        owner,
        scramVerifier(logins.owner.password),
        logins.reader.username,
        scramVerifier(logins.reader.password),
      ],
    );
    await tx.query(setupSql(sql, 'logins'));
    const { rows } = await tx.query<{ report: string }>(REPORT);
    return JSON.parse(rows[0]?.report ?? '{}') as {
      created: string[];
      definerRoles: string[];
      unmanagedDefinerRoles: string[];
    };
  });

  let transferred = 0;
  const schemas = await schemasToHandOver(master);
  for (let i = 0; i < schemas.length; i += batch) {
    transferred += await master.transaction(async (tx) => {
      await tx.query(
        `SELECT set_config('tenantry.setup_owner', $1, true) IS NOT NULL
            AND set_config('tenantry.setup_schemas', $2, true) IS NOT NULL AS set`,
        [owner, JSON.stringify(schemas.slice(i, i + batch))],
      );
      await tx.query(setupSql(sql, 'transfer'));
      const { rows } = await tx.query<{ report: string }>(REPORT);
      return (JSON.parse(rows[0]?.report ?? '{}') as { moved?: number }).moved ?? 0;
    });
  }

  const asOwner = loginAs('owner');
  const asReader = loginAs('reader');
  try {
    const asLogins =
      (await currentUser(asOwner)) === owner && (await currentUser(asReader)) === logins.reader.username;
    const controlVersion = await ensureControlSchema(asOwner, sql);
    // What migration 0017 grants, again as the owner: after a hand-over its default privileges
    // were the master's, and only the owner's apply to the tables the owner creates from now on.
    await asOwner.transaction((tx) =>
      tx.script([
        `GRANT USAGE ON SCHEMA ${CONTROL_SCHEMA} TO tenantry_reader`,
        `GRANT SELECT ON ALL TABLES IN SCHEMA ${CONTROL_SCHEMA} TO tenantry_reader`,
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${CONTROL_SCHEMA} GRANT SELECT ON TABLES TO tenantry_reader`,
      ]),
    );
    if (asLogins) await checkReader(asReader, logins.reader.username);
    return {
      created: made.created,
      transferred,
      definerRoles: made.definerRoles,
      unmanagedDefinerRoles: made.unmanagedDefinerRoles,
      controlVersion,
      asLogins,
    };
  } finally {
    await Promise.all([asOwner.close(), asReader.close()]);
  }
}

async function currentUser(db: SqlClient): Promise<string | undefined> {
  return (await db.query<{ login: string }>('SELECT current_user::text AS login')).rows[0]?.login;
}

/** The reader reads the control schema and may write none of it. */
async function checkReader(reader: SqlClient, username: string): Promise<void> {
  const { rows } = await reader.query<{ reads: boolean; writes: string | null }>(
    `SELECT has_schema_privilege('${CONTROL_SCHEMA}', 'USAGE')
              AND (SELECT count(*) FROM ${CONTROL_SCHEMA}.schema_migrations) > 0 AS reads,
            (SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
              WHERE c.relnamespace = '${CONTROL_SCHEMA}'::regnamespace AND c.relkind IN ('r', 'p')
                AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')) AS writes`,
  );
  const row = rows[0];
  if (!row?.reads) throw new DatabaseError(`the reader login ${username} cannot read the control schema`);
  if (row.writes)
    throw new ConfigError(
      `the reader login ${username} may write ${row.writes}: it must be a member of tenantry_reader and of nothing that writes`,
    );
}
