-- A tenant schema's blueprint migrations, for SyncTables (a new tenant) and ApplyMigrations (an
-- existing one), in the caller's transaction: applies the pending ones in version order, with the
-- schema on search_path, recording each in the schema's ledger. Refuses a ledger that disagrees
-- with the blueprint (TY002). Each migration comes as its statements with their lines
-- ('statements': [{line, sql}]; 'sql' alone still works), so an error names the file and line. The
-- tenant's role and its default privileges (grant_tenant_role.sql) are in place before the first
-- pending migration runs, so what it creates holds the role's privileges from the start; after the
-- migrations grant_tenant_role runs again and grants what still lacks them (nothing, usually: it
-- then writes no catalog row). Then pins the schema's routines (secure_routines.sql; p_security_definer:
-- blueprint.json "securityDefiner"; a declared SECURITY DEFINER one goes to the tenant's role). The
-- caller owns the tenant (own_tenant) before calling.
CREATE OR REPLACE FUNCTION tenantry.migrate_schema(p_schema text, p_execution text, p_migrations jsonb,
                                                   p_security_definer jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  l record;
  m jsonb;
  v_max_applied integer := 0;
  v_applied integer[] := '{}';
  v_done boolean;
  v_role_ready boolean := false;
  s jsonb;
  v_line integer;
  v_state text;
  v_message text;
  v_detail text;
  v_hint text;
BEGIN
  PERFORM set_config('search_path', quote_ident(p_schema), true);
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I._tenantry_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(), execution_id text NOT NULL)', p_schema);
  FOR l IN EXECUTE format('SELECT version, name, checksum FROM %I._tenantry_migrations ORDER BY version', p_schema) LOOP
    SELECT value INTO m FROM jsonb_array_elements(p_migrations) WHERE (value->>'version')::integer = l.version;
    IF m IS NULL THEN
      RAISE EXCEPTION 'migration % (%) is applied in schema % but missing from the blueprint', l.version, l.name, p_schema
        USING ERRCODE = 'TY002';
    END IF;
    IF m->>'checksum' <> l.checksum THEN
      RAISE EXCEPTION 'migration % was changed after it was applied to schema %: applied checksum %, blueprint has %',
        m->>'name', p_schema, l.checksum, m->>'checksum' USING ERRCODE = 'TY002';
    END IF;
    v_max_applied := greatest(v_max_applied, l.version);
  END LOOP;
  FOR m IN SELECT value FROM jsonb_array_elements(p_migrations) ORDER BY (value->>'version')::integer LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I._tenantry_migrations WHERE version = $1)', p_schema)
      INTO v_done USING (m->>'version')::integer;
    CONTINUE WHEN v_done;
    IF (m->>'version')::integer < v_max_applied THEN
      RAISE EXCEPTION 'migration % is new but a later migration (%) is already applied to schema %',
        m->>'name', v_max_applied, p_schema USING ERRCODE = 'TY002';
    END IF;
    IF m->'statements' IS NULL AND m->>'sql' IS NULL THEN
      RAISE EXCEPTION 'migration % is not applied to schema % but came without its statements', m->>'name', p_schema
        USING ERRCODE = 'TY002';
    END IF;
    IF NOT v_role_ready THEN
      PERFORM tenantry.grant_tenant_role(p_schema);
      v_role_ready := true;
    END IF;
    -- One statement at a time (p_migrations carries each with its line): a failure names the
    -- migration file and line and keeps its SQLSTATE, so transient faults stay retryable.
    BEGIN
      FOR s IN SELECT value FROM jsonb_array_elements(
                 coalesce(m->'statements', jsonb_build_array(jsonb_build_object('line', 1, 'sql', m->>'sql')))) LOOP
        v_line := (s->>'line')::integer;
        EXECUTE s->>'sql';
      END LOOP;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                              v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
      RAISE EXCEPTION USING ERRCODE = v_state, DETAIL = v_detail, HINT = v_hint,
        MESSAGE = format('%s line %s: %s', coalesce(m->>'file', m->>'name'), v_line, v_message);
    END;
    EXECUTE format('INSERT INTO %I._tenantry_migrations (version, name, checksum, execution_id) VALUES ($1, $2, $3, $4)',
                   p_schema)
      USING (m->>'version')::integer, m->>'name', m->>'checksum', p_execution;
    v_applied := v_applied || (m->>'version')::integer;
  END LOOP;
  PERFORM tenantry.grant_tenant_role(p_schema);
  RETURN jsonb_build_object('applied', to_jsonb(v_applied),
                            'routines', tenantry.secure_routines(p_schema, p_security_definer)->'routines');
END
$$;
