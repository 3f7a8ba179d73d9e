-- The entries of p_indexes ([{name, sql}], in their order) that the schema still lacks, for
-- CreateIndexes (create_indexes.sql) and ApplyMigrations (apply_migrations.sql): a relation of
-- that name in the schema counts as the index being there, as IF NOT EXISTS would have it. One
-- indexed lookup of all the names, whatever the number of indexes or of tenants.
CREATE OR REPLACE FUNCTION tenantry.missing_indexes(p_schema text, p_indexes jsonb)
RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  WITH existing AS (
    SELECT coalesce(array_agg(c.relname::text), '{}') AS names
      FROM pg_class c
     WHERE c.relnamespace = (SELECT n.oid FROM pg_namespace n WHERE n.nspname = p_schema)
       AND c.relname = ANY (ARRAY(SELECT e->>'name' FROM jsonb_array_elements(p_indexes) e))
  )
  SELECT coalesce(jsonb_agg(x.e ORDER BY x.o), '[]'::jsonb)
    FROM existing, jsonb_array_elements(p_indexes) WITH ORDINALITY AS x(e, o)
   WHERE NOT (x.e->>'name' = ANY (existing.names))
$$;
