import { quoteLiteral } from '../identifiers';

/**
 * The statement that drops the tenant roles (registry/sql/functions/tenant_role.sql) and tenant
 * logins (tenant_login.sql) that the tenants of `database` left behind once that database is
 * dropped: roles are cluster-wide and outlive it. Each one's comment names its schema and database
 * (grant_tenant_role.sql, create_tenant_login.sql, control migration 0018), so only Tenantry's roles
 * of that database match. A role that cannot be dropped (it still owns something elsewhere) is
 * left, with a warning. Run it on another database of the cluster, after the DROP DATABASE.
 */
export function dropLeftoverTenantRolesSql(database: string): string {
  const suffix = quoteLiteral(` in database ${database}`);
  return `DO $$
    DECLARE
      r text;
    BEGIN
      FOR r IN SELECT a.rolname FROM pg_roles a
                 JOIN pg_shdescription d ON d.objoid = a.oid AND d.classoid = 'pg_authid'::regclass
                WHERE (d.description LIKE 'Tenantry: the role of tenant schema %'
                       OR d.description LIKE 'Tenantry: the login of tenant schema %')
                  AND right(d.description, length(${suffix})) = ${suffix}
      LOOP
        BEGIN
          EXECUTE format('DROP ROLE %I', r);
        EXCEPTION WHEN OTHERS THEN
          RAISE WARNING 'cannot drop role %: %', r, SQLERRM;
        END;
      END LOOP;
    END $$`;
}
