-- SyncTables: the new tenant's blueprint migrations (migrate_schema.sql), by the execution that
-- provisions it.
DROP FUNCTION IF EXISTS tenantry.sync_migrations(text, text, jsonb);
CREATE OR REPLACE FUNCTION tenantry.sync_migrations(p_tenant text, p_execution text, p_migrations jsonb,
                                                    p_security_definer jsonb DEFAULT '[]'::jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
BEGIN
  RETURN tenantry.migrate_schema(t.schema_name, p_execution, p_migrations, p_security_definer);
END
$$;
