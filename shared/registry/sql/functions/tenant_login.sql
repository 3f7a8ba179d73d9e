-- The name of a tenant schema's login (create_tenant_login.sql): the LOGIN role a tenant provisioned
-- with `login` connects as, a member of the tenant's role (tenant_role.sql) and of nothing else. One
-- per tenant schema. Roles are cluster-wide, so the name carries a hash of the database and the
-- schema, as the tenant role's does. At most 48 bytes of the schema name + '_login_' + 8 hex digits:
-- <= 63 bytes. It never equals a tenant role's name ('_login_' where that has '_role_').
CREATE OR REPLACE FUNCTION tenantry.tenant_login(p_schema text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_prefix text := left(p_schema, 48);
BEGIN
  WHILE octet_length(v_prefix) > 48 LOOP
    v_prefix := left(v_prefix, -1);
  END LOOP;
  RETURN v_prefix || '_login_' || left(md5(current_database() || '.' || p_schema), 8);
END
$$;
