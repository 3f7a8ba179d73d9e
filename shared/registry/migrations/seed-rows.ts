/**
 * Control migration: one function inserts seed, admin and initial rows for provisioning and for a
 * template's dry run alike (so a template that saves is a template that provisions), and it moves
 * only the sequences of integer columns. A text key whose default draws on a sequence
 * ('ADM' || nextval(...)) is never cast to bigint.
 */
export const SEED_ROWS_SQL = `
-- Moves the identity and serial sequences of integer columns past the largest value in their
-- table (of one table, or of the whole schema). Other columns' sequences are left alone.
CREATE FUNCTION tenantry.advance_integer_sequences(p_schema text, p_table text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  s record;
  v_max bigint;
  v_last bigint;
BEGIN
  FOR s IN SELECT c.relname AS tbl, a.attname,
                  pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) AS seq
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = p_schema AND (p_table IS NULL OR c.relname = p_table) AND c.relkind IN ('r', 'p')
              AND a.attnum > 0 AND NOT a.attisdropped
              AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) LOOP
    CONTINUE WHEN s.seq IS NULL;
    EXECUTE format('SELECT max(%I)::bigint FROM %I.%I', s.attname, p_schema, s.tbl) INTO v_max;
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s', s.seq) INTO v_last;
    IF v_max IS NOT NULL AND v_max > v_last THEN
      PERFORM setval(s.seq::regclass, v_max);
    END IF;
  END LOOP;
END
$$;

-- Inserts rows that are not there yet (by any unique key), table by table in the order given, into
-- p_schema, then moves the tables' integer sequences past the inserted ids. Returns rows per table.
CREATE FUNCTION tenantry.insert_rows(p_schema text, p_tables jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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

CREATE OR REPLACE FUNCTION tenantry.seed_tables(p_tenant text, p_execution text, p_tables jsonb, p_statuses text[] DEFAULT ARRAY['provisioning'])
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, p_statuses);
BEGIN
  RETURN jsonb_build_object('inserted', tenantry.insert_rows(t.schema_name, p_tables));
END
$$;
`;
