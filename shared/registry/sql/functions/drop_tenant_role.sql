-- Drops a tenant schema's role (tenant_role.sql), if it exists: called after the schema is dropped
-- (DropSchema at Deprovision, Cleanup of a failed Provision or Restore), so the role owns nothing
-- any more; DROP OWNED clears anything left in this database (grants, default privileges), and its
-- memberships (tenantry_app's, the provisioning role's) go with it. Idempotent. The lock's scratch
-- role goes with the lock's rolled-back transaction.
CREATE OR REPLACE FUNCTION tenantry.drop_tenant_role(p_schema text)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_role text := tenantry.tenant_role(p_schema);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP OWNED BY %I', v_role);
  EXECUTE format('DROP ROLE %I', v_role);
  RETURN true;
END
$$;
