-- The role that owns a tenant schema's declared SECURITY DEFINER routines (secure_routines.sql):
-- since release 9 the schema's tenant role (tenant_role.sql), one role per tenant. Kept for its
-- callers (the deploy-time setup, sql/setup/logins.sql, which also runs against a database of an
-- older release, where this still names the definer role of that release). Until release 8 it was
-- a role of its own, `<schema, 40 bytes>_definer_<8 hex digits>`, made only for a tenant with such
-- routines; control migration 0018 renamed each to its tenant role.
CREATE OR REPLACE FUNCTION tenantry.definer_role(p_schema text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN tenantry.tenant_role(p_schema);
END
$$;
