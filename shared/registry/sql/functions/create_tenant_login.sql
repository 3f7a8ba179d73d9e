-- CreateLogin (shared/provision/login.ts), after begin_tenant_login and the secret's write, in the
-- same transaction: the tenant's login (tenant_login.sql), made if it is missing, with the password
-- whose SCRAM-SHA-256 verifier the step computed from the secret it has just written. The password
-- itself never reaches the database; the verifier is a bound parameter, never in a statement's text,
-- and an error names the login, never the statement. Records the login and where its secret is on
-- the tenant (login_role, login_secret; control migration 0020). Idempotent: a retried step sets a
-- new password, the one its secret now holds.
--
-- The login: LOGIN, INHERIT, no superuser, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, at most
-- p_connection_limit sessions; a member of the tenant's role (WITH INHERIT TRUE, SET FALSE from
-- PostgreSQL 16) and of nothing else, so it has exactly the tenant role's rights: its own schema's
-- objects, never another tenant's, the control schema or CREATE anywhere. Its search_path in this
-- database is its schema (ALTER ROLE ... IN DATABASE ... SET), so it reads its tables by their bare
-- names without SET ROLE or SET search_path. It connects with the database's CONNECT, which PUBLIC
-- has by default. A role of that name that Tenantry did not make (its comment says whose it is) or
-- that has another attribute or membership is refused, never used.
CREATE OR REPLACE FUNCTION tenantry.create_tenant_login(p_tenant text, p_execution text, p_verifier text,
                                                        p_secret text, p_connection_limit bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
  v_role text := tenantry.tenant_role(t.schema_name);
  v_login text := tenantry.tenant_login(t.schema_name);
  v_comment text := format('Tenantry: the login of tenant schema %s in database %s', t.schema_name, current_database());
  v_pg16 boolean := current_setting('server_version_num')::integer >= 160000;
  v_created boolean := false;
  v_other text;
  r record;
BEGIN
  IF p_verifier IS NULL
     OR p_verifier !~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*$' THEN
    -- Never a plain password: the value is not repeated.
    RAISE EXCEPTION 'the login of tenant % takes a SCRAM-SHA-256 verifier, never a password', p_tenant
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_connection_limit IS NULL OR p_connection_limit < 1 THEN
    RAISE EXCEPTION 'the login of tenant % needs a connection limit of 1 or more', p_tenant
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
    RAISE EXCEPTION 'tenant % has no role % to make its login a member of (SyncTables makes it)', p_tenant, v_role;
  END IF;

  SELECT a.oid, a.rolsuper OR a.rolcreatedb OR a.rolcreaterole OR a.rolreplication OR a.rolbypassrls AS privileged,
         shobj_description(a.oid, 'pg_authid') AS comment
    INTO r FROM pg_roles a WHERE a.rolname = v_login;
  IF NOT FOUND THEN
    EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT %s',
                   v_login, p_connection_limit);
    EXECUTE format('COMMENT ON ROLE %I IS %L', v_login, v_comment);
    v_created := true;
  ELSIF r.comment IS DISTINCT FROM v_comment OR r.privileged THEN
    RAISE EXCEPTION 'role % (the login of tenant schema %) exists and is not one Tenantry made: Tenantry will not use it',
      v_login, t.schema_name USING ERRCODE = 'insufficient_privilege';
  ELSE
    SELECT string_agg(g.rolname, ', ' ORDER BY g.rolname) INTO v_other
      FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
     WHERE m.member = r.oid AND g.rolname <> v_role;
    IF v_other IS NOT NULL THEN
      RAISE EXCEPTION 'login % of tenant % is a member of % besides its tenant''s role: Tenantry will not use it',
        v_login, p_tenant, v_other USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;

  -- The password, from the verifier: built here, so an error names the login, never the statement.
  BEGIN
    EXECUTE format('ALTER ROLE %I WITH LOGIN INHERIT CONNECTION LIMIT %s PASSWORD %L', v_login, p_connection_limit,
                   p_verifier);
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'cannot set the password of login % (tenant %) as %: %', v_login, p_tenant, current_user, SQLERRM
      USING ERRCODE = SQLSTATE;
  END;

  IF v_pg16 THEN
    IF NOT pg_has_role(v_login, v_role, 'USAGE') THEN
      EXECUTE format('GRANT %I TO %I WITH INHERIT TRUE, SET FALSE', v_role, v_login);
    END IF;
  ELSIF NOT pg_has_role(v_login, v_role, 'MEMBER') THEN
    EXECUTE format('GRANT %I TO %I', v_role, v_login);
  END IF;
  EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', v_login, current_database(), t.schema_name);

  IF t.login_role IS DISTINCT FROM v_login OR t.login_secret IS DISTINCT FROM p_secret OR NOT t.login THEN
    UPDATE tenantry.tenants SET login = true, login_role = v_login, login_secret = p_secret, updated_at = now()
     WHERE tenant_id = p_tenant;
    PERFORM tenantry.audit(p_tenant, 'provision.login_created', coalesce(t.actor, t.requested_by), p_execution,
      jsonb_build_object('role', v_login, 'secret', p_secret));
  END IF;
  RETURN jsonb_build_object('role', v_login, 'secret', p_secret, 'created', v_created);
END
$$;
