-- Drops a tenant schema's login (tenant_login.sql), if it exists: DropSchema at Deprovision, before
-- the schema goes, and the Cleanup of a failed Provision or Restore. Its sessions are ended first
-- where the calling role may (a member of the login, or of pg_signal_backend), so none holds a lock
-- the schema's drop would wait for. A role of that name whose comment does not say Tenantry made it
-- for this schema is left alone, with a warning. Idempotent; returns whether it dropped one. The
-- login's secret is the caller's to delete (shared/tenant-login/).
CREATE OR REPLACE FUNCTION tenantry.drop_tenant_login(p_schema text)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_login text := tenantry.tenant_login(p_schema);
  v_comment text;
BEGIN
  SELECT shobj_description(oid, 'pg_authid') INTO v_comment FROM pg_roles WHERE rolname = v_login;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF v_comment IS DISTINCT FROM format('Tenantry: the login of tenant schema %s in database %s', p_schema, current_database()) THEN
    RAISE WARNING 'tenantry: role % is not the login Tenantry made for schema %: left alone', v_login, p_schema;
    RETURN false;
  END IF;
  PERFORM tenantry.enable_tenant_login(p_schema, false);
  -- It owns nothing and was granted nothing but its tenant role; anything granted to it since goes
  -- too, where the calling role may (DROP OWNED needs its privileges: a superuser, or its member).
  BEGIN
    EXECUTE format('DROP OWNED BY %I', v_login);
  EXCEPTION WHEN insufficient_privilege THEN
    NULL;
  END;
  EXECUTE format('DROP ROLE %I', v_login);
  RETURN true;
END
$$;
