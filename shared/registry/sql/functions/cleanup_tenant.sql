-- Cleanup: undo what this execution made, never more. A schema is dropped only if this
-- execution created it, and the tenant's role with it (drop_tenant_role.sql); a tenant this
-- execution does not own is not touched (only audited). The tenant's login (drop_tenant_login.sql),
-- if the run made one, is dropped whoever made the schema: a tenant that is not active has none.
-- `loginRole`: for a tenant that was to have a login, its role's name, whose secret the caller then
-- deletes (shared/provision/steps.ts); answered again by a retried Cleanup (the tenant failed or
-- cancelled), so a secret is deleted even when the call that dropped the role lost its answer.
CREATE OR REPLACE FUNCTION tenantry.cleanup_tenant(p_tenant text, p_execution text, p_step text, p_error jsonb, p_status text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
  v_dropped boolean := false;
  v_login boolean;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND OR t.execution_id IS DISTINCT FROM p_execution THEN
    PERFORM tenantry.audit(p_tenant, 'provision.rejected', NULL, p_execution,
      jsonb_build_object('step', p_step, 'error', p_error));
    RETURN jsonb_build_object('owned', false, 'droppedSchema', false, 'status', t.status, 'loginRole', NULL);
  END IF;
  IF t.status <> 'provisioning' THEN
    -- Already cleaned up (a retried Cleanup), or finished: nothing to undo.
    RETURN jsonb_build_object('owned', true, 'droppedSchema', false, 'status', t.status,
      'loginRole', CASE WHEN t.login AND t.status IN ('failed', 'cancelled') THEN tenantry.tenant_login(t.schema_name) END);
  END IF;
  v_login := tenantry.drop_tenant_login(t.schema_name);
  IF t.schema_created_by = p_execution AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    EXECUTE format('DROP SCHEMA %I CASCADE', t.schema_name);
    PERFORM tenantry.drop_tenant_role(t.schema_name);
    v_dropped := true;
  END IF;
  UPDATE tenantry.tenants
     SET status = p_status, failed_step = p_step, last_error = p_error, schema_created_by = NULL,
         login_role = NULL, login_secret = NULL, updated_at = now()
   WHERE tenant_id = p_tenant;
  PERFORM tenantry.audit(p_tenant, 'provision.' || p_status, coalesce(t.actor, t.requested_by), p_execution,
    jsonb_build_object('step', p_step, 'error', p_error, 'droppedSchema', v_dropped)
      || CASE WHEN v_login THEN jsonb_build_object('droppedLogin', tenantry.tenant_login(t.schema_name)) ELSE '{}'::jsonb END);
  RETURN jsonb_build_object('owned', true, 'droppedSchema', v_dropped, 'status', p_status,
    'loginRole', CASE WHEN t.login THEN tenantry.tenant_login(t.schema_name) END);
END
$$;
