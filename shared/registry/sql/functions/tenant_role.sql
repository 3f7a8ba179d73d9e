-- The name of a tenant schema's role (grant_tenant_role.sql): the NOLOGIN role an application acts
-- as, through tenantry_app, to reach exactly that tenant, and the owner of the schema's declared
-- SECURITY DEFINER routines. One per tenant schema. Roles are cluster-wide, so the name carries a
-- hash of the database and the schema: two databases of one cluster with a schema of the same name
-- get two roles. At most 48 bytes of the schema name + '_role_' + 8 hex digits: <= 62 bytes (a
-- tenant schema, <= 47 bytes, is never cut).
CREATE OR REPLACE FUNCTION tenantry.tenant_role(p_schema text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_prefix text := left(p_schema, 48);
BEGIN
  WHILE octet_length(v_prefix) > 48 LOOP
    v_prefix := left(v_prefix, -1);
  END LOOP;
  RETURN v_prefix || '_role_' || left(md5(current_database() || '.' || p_schema), 8);
END
$$;
