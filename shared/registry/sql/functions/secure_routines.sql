-- Tenant-local routines by construction, run after a blueprint's migrations (migrate_schema, and
-- `blueprint lock` in its scratch schema). Every sql/plpgsql function and procedure of the schema
-- is pinned: SET search_path = <schema>, pg_temp, so unqualified names in its body resolve in its
-- own tenant whatever the caller's search_path; one the blueprint created with SET search_path
-- FROM CURRENT (the runner's path: the schema alone) is accepted as it is. SECURITY DEFINER is
-- refused (TY009, naming each routine) unless p_security_definer (blueprint.json "securityDefiner")
-- lists it as name(identity arguments); a declared one is pinned and owned by the schema's tenant
-- role (tenant_role.sql, grant_tenant_role.sql): NOLOGIN, no superuser or other attribute, with
-- USAGE on this schema and the rights its objects need (the ledger aside), nothing elsewhere. The
-- role is made here (grant_tenant_role) when it does not exist yet (a lock's scratch schema; a
-- tenant's was made by migrate_schema just before). Routines in other languages (C, internal) are
-- left as they are and reported. Idempotent: a routine already pinned is not altered again. Returns
-- {routines: [...], unmatchedDeclarations: [...]}: declarations that matched no SECURITY DEFINER
-- routine (an error at lock; fine for an older version). The schema's routines are found through
-- pg_depend's entries for the schema (indexed), so the cost follows the tenant's size, not the
-- number of tenants in the database.
CREATE OR REPLACE FUNCTION tenantry.secure_routines(p_schema text, p_security_definer jsonb DEFAULT '[]'::jsonb)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_nsp oid := (SELECT oid FROM pg_namespace WHERE nspname = p_schema);
  v_pin text := quote_ident(p_schema) || ', pg_temp';
  v_declared text[] := ARRAY(SELECT jsonb_array_elements_text(coalesce(p_security_definer, '[]'::jsonb)));
  v_role text := tenantry.tenant_role(p_schema);
  r record;
  v_action text;
  v_name text;
  v_undeclared text[] := '{}';
  v_definers jsonb := '[]'::jsonb;
  v_report jsonb := '[]'::jsonb;
BEGIN
  IF v_nsp IS NULL THEN
    RAISE EXCEPTION 'schema % does not exist', p_schema USING ERRCODE = 'invalid_schema_name';
  END IF;
  -- Argument types print as the blueprint's author wrote them: the schema's own types unqualified.
  -- (This SET LOCAL ends with the function: its SET clause restores the caller's path.)
  PERFORM set_config('search_path', quote_ident(p_schema) || ', pg_temp', true);
  FOR r IN
    SELECT p.oid, p.proname, p.prosecdef, l.lanname,
           CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
           pg_get_function_identity_arguments(p.oid) AS args,
           (SELECT substr(c, 13) FROM unnest(p.proconfig) AS c WHERE c LIKE 'search\_path=%') AS path
      FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid JOIN pg_language l ON l.oid = p.prolang
     WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = v_nsp AND d.refobjsubid = 0
       AND d.classid = 'pg_proc'::regclass AND p.pronamespace = v_nsp AND p.prokind IN ('f', 'p')
     ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)
  LOOP
    v_name := r.proname || '(' || r.args || ')';
    IF r.prosecdef THEN
      IF NOT v_name = ANY (v_declared) THEN
        v_undeclared := v_undeclared || v_name;
        CONTINUE;
      END IF;
      v_action := 'definer';
    ELSIF r.lanname NOT IN ('sql', 'plpgsql') THEN
      v_action := 'skipped';
    ELSIF r.path IN (quote_ident(p_schema), '"' || replace(p_schema, '"', '""') || '"') THEN
      v_action := 'from-current';
    ELSE
      v_action := 'pinned';
    END IF;
    IF v_action IN ('pinned', 'definer') AND r.path IS DISTINCT FROM v_pin THEN
      EXECUTE format('ALTER %s %I.%I(%s) SET search_path = %s', upper(r.kind), p_schema, r.proname, r.args, v_pin);
    END IF;
    IF v_action = 'definer' THEN
      v_definers := v_definers || jsonb_build_object('oid', r.oid, 'target',
        format('%s %I.%I(%s)', upper(r.kind), p_schema, r.proname, r.args));
    END IF;
    v_report := v_report || jsonb_build_array(jsonb_build_object('routine', v_name, 'kind', r.kind,
      'language', r.lanname, 'action', v_action)
      || CASE WHEN v_action = 'definer' THEN jsonb_build_object('owner', v_role) ELSE '{}'::jsonb END);
  END LOOP;
  IF cardinality(v_undeclared) > 0 THEN
    RAISE EXCEPTION 'SECURITY DEFINER % not declared in blueprint.json "securityDefiner" (schema %): remove SECURITY DEFINER, or declare each as named here to have it pinned and owned by a role that reaches only its tenant',
      array_to_string(v_undeclared, ', '), p_schema USING ERRCODE = 'TY009';
  END IF;
  IF jsonb_array_length(v_definers) > 0 THEN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
      PERFORM tenantry.grant_tenant_role(p_schema);
    END IF;
    -- The new owner needs CREATE on the schema for the change of owner, and only for it.
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO %I', p_schema, v_role);
    FOR r IN SELECT value FROM jsonb_array_elements(v_definers) LOOP
      IF (SELECT proowner FROM pg_proc WHERE oid = (r.value->>'oid')::oid) <> (SELECT oid FROM pg_roles WHERE rolname = v_role) THEN
        EXECUTE format('ALTER %s OWNER TO %I', r.value->>'target', v_role);
      END IF;
    END LOOP;
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM %I', p_schema, v_role);
  END IF;
  RETURN jsonb_build_object('routines', v_report,
    'unmatchedDeclarations', to_jsonb(ARRAY(SELECT d FROM unnest(v_declared) AS d
                                   WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_report) AS e
                                                      WHERE e->>'routine' = d AND e->>'action' = 'definer'))));
END
$$;
