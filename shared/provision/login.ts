import { ValidationError } from '../errors';
import { callControl } from '../registry/call';
import { scramVerifier } from '../registry/database-users';
import type { Runtime } from '../runtime';
import { tenantLoginSecrets } from '../tenant-login/connect';
import { newLoginPassword } from '../tenant-login/port';
import type { StepEvent, StepOutputs } from './schemas';
import { planOf } from './steps';

/** The most sessions a tenant's login may hold at once (`ALTER ROLE ... CONNECTION LIMIT` changes it). */
export const LOGIN_CONNECTION_LIMIT = 20;

/**
 * CreateLogin: the tenant's own login (README "Tenant access"), for a request that asks for one
 * (or whose template does), and again with a new password at a restore of a tenant that had one.
 * In one transaction: the tenant's row is locked (begin_tenant_login), a new random password is
 * written to the login's secret (Secrets Manager on AWS, a file of mode 0600 locally), and the
 * login is made or updated with that password's SCRAM-SHA-256 verifier (create_tenant_login), so
 * the role's password is always the one the secret holds, a retry included (it writes a new one
 * and sets that). The password goes nowhere else: the output names the login and where its secret
 * is, the database gets the verifier as a bound parameter. A Cleanup of this run waits for the
 * transaction, then drops the login and deletes the secret.
 */
export async function createLogin(rt: Runtime, event: StepEvent): Promise<StepOutputs['CreateLogin']> {
  const plan = planOf(event);
  if (!plan.login)
    throw new ValidationError([{ field: 'login', reason: 'this step runs only for a tenant with a login' }]);
  const secrets = await tenantLoginSecrets();
  return rt.db.transaction(async (tx) => {
    const target = await callControl(tx, plan.tenantId, 'begin_tenant_login', [
      plan.tenantId,
      event.execution.id,
    ]);
    const password = newLoginPassword();
    const secret = await secrets.put(
      { tenantId: plan.tenantId, username: target.role, database: target.database, schema: target.schema },
      password,
    );
    return callControl(tx, plan.tenantId, 'create_tenant_login', [
      plan.tenantId,
      event.execution.id,
      scramVerifier(password),
      secret,
      LOGIN_CONNECTION_LIMIT,
    ]);
  });
}
