-- Kept for callers of release 8 and before: a tenant's definer role is its tenant role since
-- release 9 (tenant_role.sql), dropped by drop_tenant_role.sql.
CREATE OR REPLACE FUNCTION tenantry.drop_definer_role(p_schema text)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN tenantry.drop_tenant_role(p_schema);
END
$$;
