-- Inserts rows that are not there yet (by any unique key), table by table in the order given, into
-- p_schema, then moves the tables' integer sequences past the inserted ids. Returns rows per table.
CREATE OR REPLACE FUNCTION tenantry.insert_rows(p_schema text, p_tables jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  m jsonb;
  v_table text;
  v_cols text;
  v_n bigint;
  v_inserted jsonb := '{}'::jsonb;
BEGIN
  PERFORM set_config('search_path', quote_ident(p_schema), true);
  FOR m IN SELECT value FROM jsonb_array_elements(p_tables) LOOP
    v_table := m->>'table';
    SELECT string_agg(quote_ident(k), ', ' ORDER BY k) INTO v_cols
      FROM (SELECT DISTINCT jsonb_object_keys(r) AS k FROM jsonb_array_elements(m->'rows') AS r) keys;
    CONTINUE WHEN v_cols IS NULL;
    EXECUTE format('INSERT INTO %I.%I (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%I.%I, $1) ON CONFLICT DO NOTHING',
                   p_schema, v_table, v_cols, v_cols, p_schema, v_table)
      USING m->'rows';
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_inserted := v_inserted || jsonb_build_object(v_table, coalesce((v_inserted->>v_table)::bigint, 0) + v_n);
    PERFORM tenantry.advance_integer_sequences(p_schema, v_table);
  END LOOP;
  RETURN v_inserted;
END
$$;
