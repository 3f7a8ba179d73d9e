-- The name of a tenant schema's role (grant_tenant_role.sql): the NOLOGIN role an application acts
-- as, through tenantry_app, to reach exactly that tenant, and the owner of the schema's declared
-- SECURITY DEFINER routines. One per tenant schema: `<schema>_role_<hash>` (tenant_role_name.sql).
CREATE OR REPLACE FUNCTION tenantry.tenant_role(p_schema text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN tenantry.tenant_role_name(p_schema, 'role');
END
$$;
