-- A database role per tenant, and the application's way in (README "Tenant access").
--
-- tenantry_app: NOLOGIN, NOINHERIT, no rights of its own (none on the control schema). Each tenant's
-- role (functions/tenant_role.sql, grant_tenant_role.sql) is granted to it so that it may SET ROLE
-- to it without inheriting its privileges; an application login granted tenantry_app reaches a
-- tenant only by SET ROLE to that tenant's role. NOINHERIT is what keeps the privileges apart before
-- PostgreSQL 16 (a NOINHERIT role's own memberships are not followed for privileges); from 16 each
-- grant also says INHERIT FALSE. Roles are cluster-wide: every Tenantry database of the cluster
-- shares it. Made like tenantry_reader (0017): a login that may not create roles gets none, and
-- says so; the tenants then get their roles but no application may take them.
--
-- Tenants provisioned before this release get their role here, one per tenant whose schema exists:
-- the definer role a tenant with declared SECURITY DEFINER routines had (named
-- `<schema, 40 bytes>_definer_<8 hex digits>`, made by the secure_routines of releases up to 8)
-- is renamed to the tenant role, so it keeps owning those routines; any other tenant gets a new
-- role. Then, as grant_tenant_role does at every migration run: USAGE on the schema, the rights on
-- its tables, views, sequences and routines (the ledger taken back), default privileges for what
-- this role creates there later, and the grant to tenantry_app. (This migration runs before the
-- release's control functions are applied, so it cannot call them: the same steps are written out.)
-- A tenant whose role cannot be made (a login without CREATEROLE, a definer role it may not rename)
-- is left as it was, with a notice: the next Migrate of that tenant makes its role.
DO $$
DECLARE
  v_pg16 boolean := current_setting('server_version_num')::integer >= 160000;
  v_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
  v_app boolean;
  t record;
  v_prefix text;
  v_role text;
  v_definer text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantry_app') THEN
    BEGIN
      CREATE ROLE tenantry_app NOLOGIN NOINHERIT;
      COMMENT ON ROLE tenantry_app IS 'Tenantry: may SET ROLE to each tenant''s role, inherits none (README "Tenant access")';
    EXCEPTION
      -- Another database of the cluster made it at the same moment.
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'tenantry: % may not create roles: no tenantry_app role', current_user;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantry_app' AND rolinherit) THEN
    BEGIN
      ALTER ROLE tenantry_app NOINHERIT;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'tenantry: % may not make tenantry_app NOINHERIT', current_user;
    END;
  END IF;
  v_app := EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantry_app' AND (v_pg16 OR NOT rolinherit));

  FOR t IN SELECT tr.tenant_id, tr.schema_name
             FROM tenantry.tenants tr JOIN pg_namespace n ON n.nspname = tr.schema_name
            ORDER BY tr.tenant_id
  LOOP
    v_prefix := left(t.schema_name, 48);
    WHILE octet_length(v_prefix) > 48 LOOP
      v_prefix := left(v_prefix, -1);
    END LOOP;
    v_role := v_prefix || '_role_' || left(md5(current_database() || '.' || t.schema_name), 8);
    v_prefix := left(t.schema_name, 40);
    WHILE octet_length(v_prefix) > 40 LOOP
      v_prefix := left(v_prefix, -1);
    END LOOP;
    v_definer := v_prefix || '_definer_' || left(md5(current_database() || '.' || t.schema_name), 8);
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_definer) THEN
          EXECUTE format('ALTER ROLE %I RENAME TO %I', v_definer, v_role);
        ELSE
          EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS',
                         v_role);
        END IF;
        EXECUTE format('COMMENT ON ROLE %I IS %L', v_role,
          format('Tenantry: the role of tenant schema %s in database %s', t.schema_name, current_database()));
      END IF;
      IF NOT v_super THEN
        IF v_pg16 THEN
          EXECUTE format('GRANT %I TO CURRENT_USER WITH INHERIT TRUE, SET TRUE', v_role);
        ELSIF NOT pg_has_role(current_user, v_role, 'MEMBER WITH ADMIN OPTION') THEN
          EXECUTE format('GRANT %I TO CURRENT_USER WITH ADMIN OPTION', v_role);
        END IF;
      END IF;
      EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', t.schema_name, v_role);
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', t.schema_name, v_role);
      EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', t.schema_name, v_role);
      EXECUTE format('GRANT EXECUTE ON ALL ROUTINES IN SCHEMA %I TO %I', t.schema_name, v_role);
      IF to_regclass(format('%I._tenantry_migrations', t.schema_name)) IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON TABLE %I._tenantry_migrations FROM %I', t.schema_name, v_role);
      END IF;
      EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
                     t.schema_name, v_role);
      EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I',
                     t.schema_name, v_role);
      EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT EXECUTE ON ROUTINES TO %I', t.schema_name, v_role);
      IF v_app AND v_pg16 THEN
        EXECUTE format('GRANT %I TO tenantry_app WITH INHERIT FALSE, SET TRUE', v_role);
      ELSIF v_app AND NOT pg_has_role('tenantry_app', v_role, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO tenantry_app', v_role);
      END IF;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'tenantry: no role for tenant % (schema %) yet: %', t.tenant_id, t.schema_name, SQLERRM;
    END;
  END LOOP;
END
$$;
