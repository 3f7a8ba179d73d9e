-- The runtime logins, made or brought up to date by the deploy-time setup (registry/database-users.ts)
-- as the cluster's master user. Not a control migration: it runs at every deploy, as the master,
-- before the control schema is applied as the owner. Idempotent.
--
-- Inputs, transaction-local settings the caller sets with bound parameters just before (so neither a
-- password nor its verifier is ever in a statement's text): tenantry.setup_owner,
-- tenantry.setup_owner_verifier, tenantry.setup_reader, tenantry.setup_reader_verifier. A verifier is
-- a SCRAM-SHA-256 secret computed by the caller; the password itself never reaches the database.
-- Output: tenantry.setup_report, JSON {"created": [logins made now], "definerRoles": [tenant roles
-- the owner was given], "unmanagedDefinerRoles": [those it could not be given]} (the names are older
-- than the tenant roles: until release 8 only a tenant with SECURITY DEFINER routines had a role).
--
-- - The owner (workflow steps, writing routes, reconciler): LOGIN, CREATEROLE (grant_tenant_role.sql
--   makes a NOLOGIN role per tenant, control migration 0018 tenantry_app; nothing else needs it),
--   CONNECT and CREATE on this database (it creates the tenant schemas). It gets ADMIN on the
--   tenant roles that exist already, so it can re-grant, rename and drop them (drop_tenant_role.sql).
-- - The reader (read-only routes): LOGIN, a member of tenantry_reader (control migration 0017:
--   USAGE on schema tenantry, SELECT on its tables) and of nothing else the setup knows of.
-- - The master becomes a member of the owner: it must be able to act as the owner to hand it the
--   schemas it owns (transfer.sql). It keeps no use at run time.
DO $setup$
DECLARE
  v_owner text := current_setting('tenantry.setup_owner');
  v_reader text := current_setting('tenantry.setup_reader');
  v_pg16 boolean := current_setting('server_version_num')::integer >= 160000;
  v_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
  v_created text[] := '{}';
  v_definers text[] := '{}';
  v_unmanaged text[] := '{}';
  v_role text;
BEGIN
  IF v_owner = v_reader OR current_user IN (v_owner, v_reader) OR 'tenantry_reader' IN (v_owner, v_reader) THEN
    RAISE EXCEPTION 'the owner (%) and the reader (%) must be two logins of their own, neither the master (%) nor tenantry_reader',
      v_owner, v_reader, current_user USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_owner) THEN
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT CREATEROLE', v_owner);
    v_created := v_created || v_owner;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_reader) THEN
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOCREATEROLE', v_reader);
    v_created := v_created || v_reader;
  END IF;
  -- The password statements are built here, from the settings: an error names the login, never the
  -- statement (which holds the verifier).
  BEGIN
    EXECUTE format('ALTER ROLE %I WITH LOGIN INHERIT CREATEROLE PASSWORD %L', v_owner,
      current_setting('tenantry.setup_owner_verifier'));
    EXECUTE format('ALTER ROLE %I WITH LOGIN INHERIT NOCREATEROLE PASSWORD %L', v_reader,
      current_setting('tenantry.setup_reader_verifier'));
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'cannot set the logins % and % up as %: %', v_owner, v_reader, current_user, SQLERRM
      USING ERRCODE = SQLSTATE;
  END;

  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), v_owner);
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), v_reader);

  -- The read-only group (made here if control migration 0017 has not run yet: the master then holds
  -- ADMIN on it and can grant it).
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantry_reader') THEN
    BEGIN
      CREATE ROLE tenantry_reader NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT pg_has_role(v_reader, 'tenantry_reader', 'USAGE') THEN
    BEGIN
      IF v_pg16 THEN
        EXECUTE format('GRANT tenantry_reader TO %I WITH INHERIT TRUE', v_reader);
      ELSE
        EXECUTE format('GRANT tenantry_reader TO %I', v_reader);
      END IF;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION '% may not grant tenantry_reader to %: %', current_user, v_reader, SQLERRM
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Grant it as the role that created tenantry_reader, or give the master ADMIN on it.';
    END;
  END IF;

  -- (With the owner's privileges too: at later runs the master reads the registry, which the owner
  -- then owns, to find the tenant schemas and their definer roles.)
  IF NOT v_super THEN
    IF v_pg16 THEN
      IF NOT (pg_has_role(current_user, v_owner, 'SET') AND pg_has_role(current_user, v_owner, 'USAGE')) THEN
        EXECUTE format('GRANT %I TO CURRENT_USER WITH INHERIT TRUE, SET TRUE', v_owner);
      END IF;
    ELSIF NOT pg_has_role(current_user, v_owner, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO CURRENT_USER', v_owner);
    END IF;
  END IF;

  -- Tenant roles made before the owner existed (by the master): the owner grants them to itself and
  -- to tenantry_app at each migration run (grant_tenant_role.sql) and drops them with their tenant,
  -- so it needs ADMIN on them. definer_role() names a tenant's role from release 9 on, and the
  -- definer role of an older release (which control migration 0018, run as the owner next, renames).
  IF to_regclass('tenantry.tenants') IS NOT NULL AND to_regprocedure('tenantry.definer_role(text)') IS NOT NULL THEN
    FOR v_role IN
      SELECT r.rolname FROM tenantry.tenants t JOIN pg_roles r ON r.rolname = tenantry.definer_role(t.schema_name)
       WHERE NOT pg_has_role(v_owner, r.oid, 'MEMBER WITH ADMIN OPTION') ORDER BY 1
    LOOP
      BEGIN
        EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', v_role, v_owner);
        v_definers := v_definers || v_role;
      EXCEPTION WHEN insufficient_privilege THEN
        v_unmanaged := v_unmanaged || v_role;
      END;
    END LOOP;
  END IF;

  PERFORM set_config('tenantry.setup_report', jsonb_build_object('created', to_jsonb(v_created),
    'definerRoles', to_jsonb(v_definers), 'unmanagedDefinerRoles', to_jsonb(v_unmanaged))::text, true);
END
$setup$;
