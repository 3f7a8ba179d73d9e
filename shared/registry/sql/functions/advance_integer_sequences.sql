-- Moves the identity and serial sequences of integer columns past the largest value in their
-- table (of one table, or of the whole schema). Other columns' sequences are left alone.
CREATE OR REPLACE FUNCTION tenantry.advance_integer_sequences(p_schema text, p_table text DEFAULT NULL)
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
