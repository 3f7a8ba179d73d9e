-- A cluster-wide role name of a tenant schema: up to 48 bytes of the schema name, the kind
-- ('role': tenant_role.sql; 'login': tenant_login.sql) and 8 hex digits of a hash of the database
-- and the schema, so two databases of one cluster with a schema of the same name get two roles.
-- At most 48 + 7 + 8 = 63 bytes; a tenant schema (at most 47 bytes) is never cut.
CREATE OR REPLACE FUNCTION tenantry.tenant_role_name(p_schema text, p_kind text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_prefix text := left(p_schema, 48);
BEGIN
  WHILE octet_length(v_prefix) > 48 LOOP
    v_prefix := left(v_prefix, -1);
  END LOOP;
  RETURN v_prefix || '_' || p_kind || '_' || left(md5(current_database() || '.' || p_schema), 8);
END
$$;
