import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import type { DatabaseEndpoint } from '../config';

/**
 * A tenant's own login (README "Tenant access"): a LOGIN role, a member of the tenant's role
 * (registry/sql/functions/create_tenant_login.sql), whose password lives in a secret of its own and
 * nowhere else: not in the database (it gets a SCRAM-SHA-256 verifier), the workflow's state or
 * history, the logs, the audit trail or any API answer. This is the port the secret goes through:
 * Secrets Manager on AWS (./secrets-manager.ts), a file per tenant locally (./local.ts).
 */

/** Which tenant's login: a secret is named after the tenant (AWS) or its login role (locally). */
export interface TenantLoginRef {
  readonly tenantId: string;
  /** The login role, `tenantry.tenant_login(schema)`. */
  readonly username: string;
}

/** What a client needs to log in as the tenant, besides the password. */
export interface TenantLoginDetails extends TenantLoginRef {
  readonly database: string;
  readonly schema: string;
}

/** The secret's JSON, shaped as an RDS database secret (`engine`, `host`, `port`, `username`, `password`, `dbname`). */
export const TenantLoginSecretSchema = z.object({
  engine: z.literal('postgres'),
  host: z.string().optional(),
  port: z.number().int().optional(),
  username: z.string().min(1).max(63),
  password: z.string().min(1),
  dbname: z.string().min(1),
  /** The tenant's schema: the login's search_path already. */
  schema: z.string().min(1),
  tenantId: z.string().min(1),
});
export type TenantLoginSecret = z.infer<typeof TenantLoginSecretSchema>;

export interface TenantLoginSecrets {
  /**
   * Writes the login's secret: created, or its value replaced when it exists (a retried step, a
   * restore). Returns where it is: a Secrets Manager ARN, or a file's absolute path.
   */
  put(login: TenantLoginDetails, password: string): Promise<string>;
  /** Deletes the login's secret at once (no recovery window: its role is gone); false when there was none. */
  remove(login: TenantLoginRef): Promise<boolean>;
}

/** A new login password: 32 random bytes, base64url (43 characters, printable ASCII, as SCRAM needs). */
export function newLoginPassword(): string {
  return randomBytes(32).toString('base64url');
}

/** The secret's JSON text. */
export function secretText(login: TenantLoginDetails, password: string, endpoint: DatabaseEndpoint): string {
  const secret: TenantLoginSecret = {
    engine: 'postgres',
    ...(endpoint.host ? { host: endpoint.host } : {}),
    ...(endpoint.port ? { port: endpoint.port } : {}),
    username: login.username,
    password,
    dbname: login.database,
    schema: login.schema,
    tenantId: login.tenantId,
  };
  return `${JSON.stringify(secret, null, 2)}\n`;
}
