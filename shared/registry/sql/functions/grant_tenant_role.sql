-- A tenant schema's role (tenant_role.sql), made if it is missing and granted what the schema's
-- objects need; called after a blueprint's migrations (migrate_schema.sql: SyncTables at Provision
-- and Restore, ApplyMigrations at Migrate) and for a lock's scratch schema with declared SECURITY
-- DEFINER routines (secure_routines.sql). Idempotent: every run grants again, so objects a later
-- migration created are covered. Returns the role's name.
--
-- The role: NOLOGIN, NOINHERIT, no superuser, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, a
-- member of nothing; it owns nothing but the schema's declared SECURITY DEFINER routines
-- (secure_routines.sql makes it their owner). It gets USAGE on its schema (not CREATE);
-- SELECT/INSERT/UPDATE/DELETE on the schema's tables, views, materialized views and foreign tables
-- (as ALTER DEFAULT PRIVILEGES ... ON TABLES gives them: a materialized view is never written all
-- the same), USAGE/SELECT/UPDATE on its sequences, EXECUTE on its routines; never the blueprint's
-- migration ledger (_tenantry_migrations). ALTER DEFAULT PRIVILEGES gives it the same on what the
-- calling role creates in the schema later. Nothing in any other schema.
--
-- tenantry_app (control migration 0018), when it exists, is made a member that may SET ROLE to it
-- but does not inherit its privileges (enable_tenant_app.sql).
--
-- A calling role without superuser (it needs CREATEROLE) is made a member that inherits the role's
-- privileges and may SET ROLE to it: from PostgreSQL 16 the ADMIN grant CREATE ROLE gives its creator
-- allows neither, and the caller must hand routines to the role (ALTER ... OWNER) and later drop what
-- it owns (drop_tenant_role.sql). Before 16 the grant carries ADMIN, as CREATE ROLE's does from 16.
--
-- Relations and routines are found through pg_depend's entries for the schema (indexed), as the
-- catalog read does: the cost follows the tenant's size, not the number of tenants. An object that
-- already holds the role's privileges from its owner (given by the default privileges below when it
-- was created, as migrate_schema.sql has them in place before a migration runs, or by an earlier
-- run) is not granted again: a GRANT rewrites every object's catalog row even when nothing changes.
-- (Held means an ACL entry for the role, granted by the object's owner, with every privilege: as a
-- GRANT by the owner or a superuser, and the owner's default privileges, record it. A NULL ACL, the
-- object's built-in defaults, holds nothing for the role.)
CREATE OR REPLACE FUNCTION tenantry.grant_tenant_role(p_schema text)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_nsp oid := (SELECT oid FROM pg_namespace WHERE nspname = p_schema);
  v_role text := tenantry.tenant_role(p_schema);
  v_pg16 boolean := current_setting('server_version_num')::integer >= 160000;
  g record;
  v_objects text;
  v_role_oid oid;
BEGIN
  IF v_nsp IS NULL THEN
    RAISE EXCEPTION 'schema % does not exist', p_schema USING ERRCODE = 'invalid_schema_name';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
    EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS', v_role);
    EXECUTE format('COMMENT ON ROLE %I IS %L', v_role,
      format('Tenantry: the role of tenant schema %s in database %s', p_schema, current_database()));
  ELSIF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role
                   AND (rolsuper OR rolcanlogin OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    -- Not one this function made: a tenant's way in must never log in or carry an attribute.
    RAISE EXCEPTION 'role % (tenant schema %) exists with LOGIN or another attribute: Tenantry will not use it',
      v_role, p_schema USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    IF v_pg16 THEN
      IF NOT (pg_has_role(current_user, v_role, 'USAGE') AND pg_has_role(current_user, v_role, 'SET')) THEN
        EXECUTE format('GRANT %I TO CURRENT_USER WITH INHERIT TRUE, SET TRUE', v_role);
      END IF;
    ELSIF NOT pg_has_role(current_user, v_role, 'MEMBER WITH ADMIN OPTION') THEN
      -- With ADMIN, as CREATE ROLE gives it from 16: the role is administered by who made it.
      EXECUTE format('GRANT %I TO CURRENT_USER WITH ADMIN OPTION', v_role);
    END IF;
  END IF;

  v_role_oid := (SELECT oid FROM pg_roles WHERE rolname = v_role);

  IF NOT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) e
                  WHERE n.oid = v_nsp AND e.grantee = v_role_oid AND e.grantor = n.nspowner AND e.privilege_type = 'USAGE') THEN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', p_schema, v_role);
  END IF;
  -- What the role may do with the schema's relations, by kind: tables and views read and written;
  -- sequences used.
  FOR g IN SELECT * FROM (VALUES ('{r,p,v,m,f}'::"char"[], 'TABLE', '{SELECT,INSERT,UPDATE,DELETE}'::text[]),
                                 ('{S}'::"char"[], 'SEQUENCE', '{USAGE,SELECT,UPDATE}'::text[])) AS k (kinds, object, privileges)
  LOOP
    SELECT string_agg(format('%I.%I', p_schema, c.relname), ', ' ORDER BY c.relname) INTO v_objects
      FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
     WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = v_nsp AND d.refobjsubid = 0
       AND d.classid = 'pg_class'::regclass AND c.relnamespace = v_nsp AND c.relkind = ANY (g.kinds)
       AND c.relname <> '_tenantry_migrations'
       AND NOT g.privileges <@ ARRAY(SELECT e.privilege_type FROM aclexplode(c.relacl) e
                                      WHERE e.grantee = v_role_oid AND e.grantor = c.relowner);
    IF v_objects IS NOT NULL THEN
      EXECUTE format('GRANT %s ON %s %s TO %I', array_to_string(g.privileges, ', '), g.object, v_objects, v_role);
    END IF;
  END LOOP;
  -- Routines as regprocedure: qualified (the path is pg_catalog alone), with their argument types.
  SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.oid) INTO v_objects
    FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
   WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = v_nsp AND d.refobjsubid = 0
     AND d.classid = 'pg_proc'::regclass AND p.pronamespace = v_nsp
     AND NOT '{EXECUTE}'::text[] <@ ARRAY(SELECT e.privilege_type FROM aclexplode(p.proacl) e
                                          WHERE e.grantee = v_role_oid AND e.grantor = p.proowner);
  IF v_objects IS NOT NULL THEN
    EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO %I', v_objects, v_role);
  END IF;
  -- What the calling role creates in the schema later. The ledger, made before the first run of
  -- this function (or after, in a schema that had default privileges), is taken back if the role
  -- holds anything on it (on the table or a column).
  -- Each is written only when the calling role's defaults for the schema lack it: ALTER DEFAULT
  -- PRIVILEGES rewrites its catalog row even when nothing changes, and this runs twice a migration.
  FOR g IN SELECT * FROM (VALUES ('r'::"char", 'TABLES', '{SELECT,INSERT,UPDATE,DELETE}'::text[]),
                                 ('S'::"char", 'SEQUENCES', '{USAGE,SELECT,UPDATE}'::text[]),
                                 ('f'::"char", 'ROUTINES', '{EXECUTE}'::text[])) AS k (kind, object, privileges)
  LOOP
    IF NOT g.privileges <@ ARRAY(SELECT e.privilege_type
                                   FROM pg_default_acl d, aclexplode(d.defaclacl) e
                                  WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                                    AND d.defaclnamespace = v_nsp AND d.defaclobjtype = g.kind
                                    AND e.grantee = v_role_oid) THEN
      EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT %s ON %s TO %I',
                     p_schema, array_to_string(g.privileges, ', '), g.object, v_role);
    END IF;
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) e
              WHERE c.oid = to_regclass(format('%I._tenantry_migrations', p_schema)) AND e.grantee = v_role_oid)
     OR EXISTS (SELECT 1 FROM pg_attribute a, aclexplode(a.attacl) e
                 WHERE a.attrelid = to_regclass(format('%I._tenantry_migrations', p_schema)) AND e.grantee = v_role_oid) THEN
    EXECUTE format('REVOKE ALL ON TABLE %I._tenantry_migrations FROM %I', p_schema, v_role);
  END IF;

  -- The application's way in: tenantry_app may SET ROLE to the tenant's role, and inherits nothing.
  PERFORM tenantry.enable_tenant_app(p_schema, true);
  RETURN v_role;
END
$$;
