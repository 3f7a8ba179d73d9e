-- tenantry_app's way into a tenant schema's role (tenant_role.sql; control migration 0018): held
-- while applications may reach the tenant, taken back while they may not. grant_tenant_role grants
-- it (Provision, Restore, Migrate); Disable at Deprovision revokes it, so an application that still
-- has the tenant cached can no longer SET ROLE to it (42501) and cannot write rows the backup would
-- miss; the Deprovision's Cleanup grants it again when it gives the tenant its status back.
--
-- Granted, tenantry_app may SET ROLE to the role but does not inherit its privileges: WITH INHERIT
-- FALSE, SET TRUE from PostgreSQL 16; before 16 tenantry_app is NOINHERIT, which has the same effect
-- for a login that is a member of tenantry_app (a NOINHERIT role's own memberships are not followed
-- for privileges). A tenantry_app that inherits on a server before 16 would pass every tenant's
-- rights to every application login: it is then not granted the role, with a warning.
--
-- Returns whether tenantry_app holds the role afterwards (false without a tenantry_app or a role).
-- Idempotent.
CREATE OR REPLACE FUNCTION tenantry.enable_tenant_app(p_schema text, p_enabled boolean)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_role text := tenantry.tenant_role(p_schema);
  v_pg16 boolean := current_setting('server_version_num')::integer >= 160000;
  v_app record;
BEGIN
  SELECT a.oid, a.rolinherit,
         EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = a.oid AND m.roleid = r.oid) AS member
    INTO v_app FROM pg_roles a, pg_roles r WHERE a.rolname = 'tenantry_app' AND r.rolname = v_role;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF NOT p_enabled THEN
    IF v_app.member THEN
      EXECUTE format('REVOKE %I FROM tenantry_app', v_role);
    END IF;
    RETURN false;
  END IF;
  IF v_pg16 THEN
    IF NOT v_app.member OR pg_has_role(v_app.oid, v_role, 'USAGE') OR NOT pg_has_role(v_app.oid, v_role, 'SET') THEN
      EXECUTE format('GRANT %I TO tenantry_app WITH INHERIT FALSE, SET TRUE', v_role);
    END IF;
  ELSIF v_app.rolinherit THEN
    RAISE WARNING 'tenantry: tenantry_app inherits the privileges of its roles (INHERIT): % is not granted to it; make it NOINHERIT',
      v_role;
    RETURN v_app.member;
  ELSIF NOT v_app.member THEN
    EXECUTE format('GRANT %I TO tenantry_app', v_role);
  END IF;
  RETURN true;
END
$$;
