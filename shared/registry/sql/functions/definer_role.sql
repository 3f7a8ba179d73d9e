-- The name of a tenant schema's definer role: the NOLOGIN role that owns the blueprint's declared
-- SECURITY DEFINER routines (secure_routines.sql). Roles are cluster-wide, so the name carries a hash
-- of the database and the schema: two databases of one cluster with a schema of the same name get
-- two roles. At most 40 bytes of the schema name + '_definer_' + 8 hex digits: <= 57 bytes.
CREATE OR REPLACE FUNCTION tenantry.definer_role(p_schema text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_prefix text := left(p_schema, 40);
BEGIN
  WHILE octet_length(v_prefix) > 40 LOOP
    v_prefix := left(v_prefix, -1);
  END LOOP;
  RETURN v_prefix || '_definer_' || left(md5(current_database() || '.' || p_schema), 8);
END
$$;
