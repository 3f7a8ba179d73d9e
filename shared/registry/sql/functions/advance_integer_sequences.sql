-- Moves the identity and serial sequences of integer columns past the largest value in their
-- table (of one table, or of the whole schema). Other columns' sequences are left alone, and a
-- sequence is never moved back.
--
-- Set-based (Seed calls this once per seeded table): one catalog read finds the columns' sequences
-- through pg_depend (as pg_get_serial_sequence does: the sequence's automatic or internal
-- dependency on its column), the relations through pg_depend's entries for the schema (indexed: the
-- cost follows the tenant's size, not the number of tenants), and one statement per table reads its
-- maxima and moves those of its sequences that are behind.
CREATE OR REPLACE FUNCTION tenantry.advance_integer_sequences(p_schema text, p_table text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_nsp oid := to_regnamespace(quote_ident(p_schema));
  v_sql text;
BEGIN
  IF v_nsp IS NULL THEN
    RETURN;
  END IF;
  FOR v_sql IN
    SELECT string_agg(format(
             'SELECT setval(%L::regclass, m.v) FROM (SELECT max(%I)::bigint AS v FROM %I.%I) m, %I.%I s '
             'WHERE m.v > CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END',
             format('%I.%I', p_schema, q.seqname), q.attname, p_schema, q.relname, p_schema, q.seqname),
           ' UNION ALL ' ORDER BY q.attnum)
      FROM (SELECT c.relname, a.attname, a.attnum, s.relname AS seqname
              FROM (SELECT oid, relname FROM pg_class
                     WHERE p_table IS NOT NULL AND relnamespace = v_nsp AND relname = p_table AND relkind IN ('r', 'p')
                    UNION ALL
                    SELECT c.oid, c.relname
                      FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                     WHERE p_table IS NULL AND d.refclassid = 'pg_namespace'::regclass AND d.refobjid = v_nsp
                       AND d.refobjsubid = 0 AND d.classid = 'pg_class'::regclass
                       AND c.relnamespace = v_nsp AND c.relkind IN ('r', 'p')) c
              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
              JOIN pg_depend sd ON sd.refclassid = 'pg_class'::regclass AND sd.refobjid = c.oid
                               AND sd.refobjsubid = a.attnum AND sd.classid = 'pg_class'::regclass
                               AND sd.deptype IN ('a', 'i')
              JOIN pg_class s ON s.oid = sd.objid AND s.relkind = 'S') q
     GROUP BY q.relname ORDER BY q.relname
  LOOP
    EXECUTE v_sql;
  END LOOP;
END
$$;
