-- Cleanup: before the drop, give the tenant back its status, tenantry_app's way in (which Disable
-- took back: enable_tenant_app.sql) and its login's logging in (which Disable stopped:
-- enable_tenant_login.sql); after it, mark it clearly failed.
CREATE OR REPLACE FUNCTION tenantry.deprovision_cleanup(p_tenant text, p_execution text, p_step text, p_error jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
  v_reenabled boolean := false;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND OR t.execution_id IS DISTINCT FROM p_execution OR t.previous_status IS NULL THEN
    IF FOUND THEN
      PERFORM tenantry.audit(p_tenant, 'deprovision.rejected', NULL, p_execution, jsonb_build_object('step', p_step, 'error', p_error));
    END IF;
    RETURN jsonb_build_object('owned', false, 'reenabled', false, 'status', t.status);
  END IF;
  IF t.status IN ('active', 'disabled', 'scheduled_for_deletion')
     AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    UPDATE tenantry.tenants
       SET status = t.previous_status, previous_status = NULL, failed_step = p_step, last_error = p_error, updated_at = now()
     WHERE tenant_id = p_tenant RETURNING * INTO t;
    PERFORM tenantry.enable_tenant_login(t.schema_name, true);
    PERFORM tenantry.enable_tenant_app(t.schema_name, true);
    v_reenabled := true;
  ELSIF t.status = 'failed' THEN
    -- Already cleaned up (a retried Cleanup, or a sweep after a cancel): nothing more to record.
    RETURN jsonb_build_object('owned', true, 'reenabled', false, 'status', t.status);
  ELSE
    UPDATE tenantry.tenants SET status = 'failed', failed_step = p_step, last_error = p_error, updated_at = now()
     WHERE tenant_id = p_tenant RETURNING * INTO t;
  END IF;
  PERFORM tenantry.audit(p_tenant, 'deprovision.failed', NULL, p_execution,
    jsonb_build_object('step', p_step, 'error', p_error, 'reenabled', v_reenabled));
  RETURN jsonb_build_object('owned', true, 'reenabled', v_reenabled, 'status', t.status);
END
$$;
