-- Migrate's ApplyMigrations, in the caller's transaction (which sets lock_timeout and
-- statement_timeout first): the pending blueprint migrations (migrate_schema.sql), then the
-- blueprint's indexes the schema lacks, then the registry's version, all or nothing. Unlike
-- CreateIndexes at provisioning, a failing index fails the migration: nothing is half-applied.
-- p_indexes: [{name, sql}]; which of them the schema lacks is one lookup (missing_indexes.sql), not
-- one per index. Only the execution that claimed the tenant (status migrating) may.
CREATE OR REPLACE FUNCTION tenantry.apply_migrations(p_tenant text, p_execution text, p_migrations jsonb,
                                                     p_security_definer jsonb, p_indexes jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['migrating']);
  r tenantry.tenant_migrations;
  v_result jsonb;
  v_applied integer[];
  m jsonb;
  v_created integer := 0;
BEGIN
  SELECT * INTO r FROM tenantry.tenant_migrations WHERE execution_id = p_execution FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % has no migration record for tenant %', p_execution, p_tenant
      USING ERRCODE = 'TY001', DETAIL = p_execution;
  END IF;
  v_result := tenantry.migrate_schema(t.schema_name, p_execution, p_migrations, p_security_definer);
  v_applied := ARRAY(SELECT jsonb_array_elements_text(v_result->'applied')::integer);
  FOR m IN SELECT value FROM jsonb_array_elements(tenantry.missing_indexes(t.schema_name, p_indexes)) LOOP
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
