-- The name of a tenant schema's login (create_tenant_login.sql): the LOGIN role a tenant provisioned
-- with `login` connects as, a member of the tenant's role (tenant_role.sql) and of nothing else. One
-- per tenant schema: `<schema>_login_<hash>` (tenant_role_name.sql), never a tenant role's name.
CREATE OR REPLACE FUNCTION tenantry.tenant_login(p_schema text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN tenantry.tenant_role_name(p_schema, 'login');
END
$$;
