-- Disable: apps must stop resolving the tenant, tenantry_app may no longer SET ROLE to its role
-- (enable_tenant_app.sql), and the tenant's login (if it has one) stops logging in, its sessions
-- ended (enable_tenant_login.sql): nothing writes rows the backup would miss.
CREATE OR REPLACE FUNCTION tenantry.disable_tenant(p_tenant text, p_execution text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['active', 'disabled', 'scheduled_for_deletion']);
BEGIN
  IF t.status <> 'disabled' THEN
    UPDATE tenantry.tenants SET status = 'disabled', deletion_due_at = NULL, updated_at = now() WHERE tenant_id = p_tenant;
    PERFORM tenantry.audit(p_tenant, 'tenant.disabled', NULL, p_execution, '{}'::jsonb);
  END IF;
  PERFORM tenantry.enable_tenant_login(t.schema_name, false);
  PERFORM tenantry.enable_tenant_app(t.schema_name, false);
  RETURN jsonb_build_object('status', 'disabled');
END
$$;
