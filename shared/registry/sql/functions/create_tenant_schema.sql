-- CreateSchema: create it if missing, remembering that this execution did.
CREATE OR REPLACE FUNCTION tenantry.create_tenant_schema(p_tenant text, p_execution text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
BEGIN
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    RETURN jsonb_build_object('schema', t.schema_name, 'created', false,
                              'ownedByExecution', t.schema_created_by IS NOT DISTINCT FROM p_execution);
  END IF;
  EXECUTE format('CREATE SCHEMA %I', t.schema_name);
  UPDATE tenantry.tenants SET schema_created_by = p_execution, updated_at = now() WHERE tenant_id = p_tenant;
  RETURN jsonb_build_object('schema', t.schema_name, 'created', true, 'ownedByExecution', true);
END
$$;
