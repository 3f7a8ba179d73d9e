-- CreateIndexes: one lookup of the indexes that already exist (missing_indexes.sql), then all the
-- missing ones as ONE statement in one subtransaction. Only when that batch fails permanently are
-- the missing indexes tried again one subtransaction each, to find which failed: each such failure
-- becomes a warning (its SQLSTATE and message) and the others are still created. A transient error
-- (lock, deadlock, cancel, serialization) is raised, in the batch or in the fallback, so the
-- workflow retries.
CREATE OR REPLACE FUNCTION tenantry.create_indexes(p_tenant text, p_execution text, p_indexes jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
  v_missing jsonb;
  v_batch text;
  m jsonb;
  v_created integer := 0;
  v_warnings jsonb := '[]'::jsonb;
BEGIN
  PERFORM set_config('search_path', quote_ident(t.schema_name), true);
  v_missing := tenantry.missing_indexes(t.schema_name, p_indexes);
  SELECT string_agg(e->>'sql', E';\n' ORDER BY o) INTO v_batch
    FROM jsonb_array_elements(v_missing) WITH ORDINALITY AS x(e, o);
  IF v_batch IS NOT NULL THEN
    BEGIN
      EXECUTE v_batch;
      v_created := jsonb_array_length(v_missing);
    EXCEPTION
      WHEN lock_not_available OR deadlock_detected OR query_canceled OR serialization_failure THEN RAISE;
      WHEN OTHERS THEN
        -- The batch was rolled back as a whole: find the failing ones, keep the others.
        FOR m IN SELECT value FROM jsonb_array_elements(v_missing) LOOP
          BEGIN
            EXECUTE m->>'sql';
            v_created := v_created + 1;
          EXCEPTION
            WHEN lock_not_available OR deadlock_detected OR query_canceled OR serialization_failure THEN RAISE;
            WHEN OTHERS THEN
              v_warnings := v_warnings || jsonb_build_object('index', m->>'name', 'code', SQLSTATE, 'message', SQLERRM);
          END;
        END LOOP;
    END;
  END IF;
  RETURN jsonb_build_object('created', v_created,
                            'existing', jsonb_array_length(p_indexes) - jsonb_array_length(v_missing),
                            'warnings', v_warnings);
END
$$;
