-- CreateLogin, its first statement (shared/provision/login.ts): locks the tenant's row for the step's
-- transaction, if this execution owns it (TY001 otherwise), and answers what the login's secret
-- holds besides its password: the login's role, the database and the schema. The step then writes
-- the secret and, in the same transaction, create_tenant_login sets the role's password. A Cleanup
-- (or another invocation of the step) waits for that transaction: a secret is never written after
-- a Cleanup has deleted it, and the secret and the role's password are always the last run's.
CREATE OR REPLACE FUNCTION tenantry.begin_tenant_login(p_tenant text, p_execution text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = tenantry.tenant_role(t.schema_name)) THEN
    RAISE EXCEPTION 'tenant % has no role % to make its login a member of (SyncTables makes it)',
      p_tenant, tenantry.tenant_role(t.schema_name);
  END IF;
  RETURN jsonb_build_object('role', tenantry.tenant_login(t.schema_name), 'database', current_database(),
                            'schema', t.schema_name);
END
$$;
