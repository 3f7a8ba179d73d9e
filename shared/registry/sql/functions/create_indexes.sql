-- CreateIndexes: each index in its own subtransaction; a permanent failure becomes a warning,
-- a transient one (lock, deadlock, cancel) is raised so the workflow retries.
CREATE OR REPLACE FUNCTION tenantry.create_indexes(p_tenant text, p_execution text, p_indexes jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
  m jsonb;
  v_created integer := 0;
  v_existing integer := 0;
  v_warnings jsonb := '[]'::jsonb;
BEGIN
  PERFORM set_config('search_path', quote_ident(t.schema_name), true);
  FOR m IN SELECT value FROM jsonb_array_elements(p_indexes) LOOP
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = t.schema_name AND c.relname = m->>'name') THEN
      v_existing := v_existing + 1;
      CONTINUE;
    END IF;
    BEGIN
      EXECUTE m->>'sql';
      v_created := v_created + 1;
    EXCEPTION
      WHEN lock_not_available OR deadlock_detected OR query_canceled OR serialization_failure THEN RAISE;
      WHEN OTHERS THEN
        v_warnings := v_warnings || jsonb_build_object('index', m->>'name', 'code', SQLSTATE, 'message', SQLERRM);
    END;
  END LOOP;
  RETURN jsonb_build_object('created', v_created, 'existing', v_existing, 'warnings', v_warnings);
END
$$;
