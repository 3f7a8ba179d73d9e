-- Lets a tenant schema's login (tenant_login.sql) log in again, or stops it: Disable at Deprovision
-- stops it (NOLOGIN) before the backup, so no row its applications write is lost with the schema,
-- and the Deprovision's Cleanup lets it in again when it gives the tenant its status back. Stopping
-- also ends its sessions where the calling role may (a member of the login, or of
-- pg_signal_backend); where it may not, they end when the login is dropped or their connections
-- close. Returns whether the login exists. Idempotent.
CREATE OR REPLACE FUNCTION tenantry.enable_tenant_login(p_schema text, p_enabled boolean)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_login text := tenantry.tenant_login(p_schema);
  v_can boolean;
BEGIN
  SELECT rolcanlogin INTO v_can FROM pg_roles WHERE rolname = v_login;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF v_can IS DISTINCT FROM p_enabled THEN
    EXECUTE format('ALTER ROLE %I WITH %s', v_login, CASE WHEN p_enabled THEN 'LOGIN' ELSE 'NOLOGIN' END);
  END IF;
  IF NOT p_enabled THEN
    BEGIN
      PERFORM pg_terminate_backend(a.pid) FROM pg_stat_activity a WHERE a.usename = v_login AND a.pid <> pg_backend_pid();
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'tenantry: % may not end the sessions of %: they end with the login', current_user, v_login;
    END;
  END IF;
  RETURN true;
END
$$;
