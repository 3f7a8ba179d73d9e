-- Register: the tenant is active. Idempotent for the execution that did it.
CREATE OR REPLACE FUNCTION tenantry.register_tenant(p_tenant text, p_execution text, p_summary jsonb, p_warnings jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['provisioning', 'active']);
BEGIN
  IF t.status = 'active' THEN
    RETURN jsonb_build_object('status', t.status, 'provisionedAt', t.provisioned_at, 'alreadyRegistered', true);
  END IF;
  UPDATE tenantry.tenants
     SET status = 'active', provisioned_at = now(), updated_at = now(), summary = p_summary,
         warnings = coalesce(p_warnings, '[]'::jsonb), failed_step = NULL, last_error = NULL
   WHERE tenant_id = p_tenant
  RETURNING * INTO t;
  PERFORM tenantry.audit(p_tenant, 'provision.succeeded', coalesce(t.actor, t.requested_by), p_execution,
    jsonb_build_object('summary', p_summary, 'warnings', coalesce(p_warnings, '[]'::jsonb)));
  RETURN jsonb_build_object('status', t.status, 'provisionedAt', t.provisioned_at, 'alreadyRegistered', false);
END
$$;
