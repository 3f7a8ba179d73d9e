-- Migrate's ApplyMigrations, in the caller's transaction (which sets lock_timeout and
-- statement_timeout first): the pending blueprint migrations (migrate_schema.sql), then the
-- blueprint's indexes the schema lacks, then the registry's version, all or nothing. Unlike
-- CreateIndexes at provisioning, a failing index fails the migration: nothing is half-applied.
-- p_indexes: [{name, sql}]; which of them exist is one indexed lookup of their names in the schema
-- (a relation of that name counts, as IF NOT EXISTS would have it), not one per index. Only the
-- execution that claimed the tenant (status migrating) may.
CREATE OR REPLACE FUNCTION tenantry.apply_migrations(p_tenant text, p_execution text, p_migrations jsonb,
                                                     p_security_definer jsonb, p_indexes jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['migrating']);
  r tenantry.tenant_migrations;
  v_result jsonb;
  v_applied integer[];
  m jsonb;
  v_existing text[];
  v_created integer := 0;
BEGIN
  SELECT * INTO r FROM tenantry.tenant_migrations WHERE execution_id = p_execution FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % has no migration record for tenant %', p_execution, p_tenant
      USING ERRCODE = 'TY001', DETAIL = p_execution;
  END IF;
  v_result := tenantry.migrate_schema(t.schema_name, p_execution, p_migrations, p_security_definer);
  v_applied := ARRAY(SELECT jsonb_array_elements_text(v_result->'applied')::integer);
  SELECT coalesce(array_agg(c.relname::text), '{}') INTO v_existing
    FROM pg_class c
   WHERE c.relnamespace = (SELECT n.oid FROM pg_namespace n WHERE n.nspname = t.schema_name)
     AND c.relname = ANY (ARRAY(SELECT e->>'name' FROM jsonb_array_elements(p_indexes) e));
  FOR m IN SELECT value FROM jsonb_array_elements(p_indexes) WITH ORDINALITY AS x(value, o)
            WHERE NOT (value->>'name' = ANY (v_existing)) ORDER BY o LOOP
    EXECUTE m->>'sql';
    v_created := v_created + 1;
  END LOOP;
  UPDATE tenantry.tenants SET blueprint_version = r.to_version, updated_at = now() WHERE tenant_id = p_tenant;
  -- A retry after a commit whose answer was lost applies nothing: keep what the first one applied.
  UPDATE tenantry.tenant_migrations SET applied = applied || v_applied WHERE execution_id = p_execution;
  RETURN jsonb_build_object('applied', to_jsonb(v_applied), 'routines', v_result->'routines',
                            'indexesCreated', v_created, 'version', r.to_version);
END
$$;
