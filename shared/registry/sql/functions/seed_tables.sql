CREATE OR REPLACE FUNCTION tenantry.seed_tables(p_tenant text, p_execution text, p_tables jsonb, p_statuses text[] DEFAULT ARRAY['provisioning'])
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, p_statuses);
BEGIN
  RETURN jsonb_build_object('inserted', tenantry.insert_rows(t.schema_name, p_tables));
END
$$;
