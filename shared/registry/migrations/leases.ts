/**
 * Control migration: execution leases for the local engine (on AWS, Step Functions keeps its
 * executions alive itself). Every RUNNING execution the local engine runs holds a lease that its
 * process renews on a timer; a run whose lease expired (its process died, or lost the database for
 * longer than the lease) is found by a sweep (local/recovery.ts), which claims the lease and
 * finishes the run as Step Functions would: with the workflow's Cleanup.
 *
 * A Deprovision cut off after its DropSchema has nothing left to give back: its Cleanup now marks
 * the tenant `failed` (the schema is gone) instead of leaving it `deprovisioning`, and a redrive of
 * that run may claim it again (`begin_deprovision` with `redriveOf`): its run only has Finalize
 * left to do, with the backup the first run made (`schemaDropped` in its target).
 */
export const LEASES_SQL = `
CREATE TABLE tenantry.execution_leases (
  execution_id  text PRIMARY KEY REFERENCES tenantry.executions (execution_id) ON DELETE CASCADE,
  owner         text NOT NULL,
  expires_at    timestamptz NOT NULL,
  renewed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE tenantry.execution_leases IS 'One row per RUNNING local execution: who runs it, and until when without a renewal.';
CREATE INDEX execution_leases_expiry_idx ON tenantry.execution_leases (expires_at);

-- Runs started before this migration have no lease: they count as expired (their process, which
-- could not renew one, is an older build and gone or about to be).

-- Cleanup: before the drop, give the tenant back its status; after it, mark it clearly failed.
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

-- Validate: claim a tenant that exists and is live, remembering its status to return to on failure.
-- A run a schedule started may only go on while that schedule is live (migration 6); it marks it fired.
-- A redrive (p->>'redriveOf') of a run that failed after dropping the schema takes the tenant back
-- from 'failed' to 'deprovisioning': the target says schemaDropped, and the steps before the drop pass.
CREATE OR REPLACE FUNCTION tenantry.begin_deprovision(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenantId';
  v_exec text := p->>'executionId';
  v_schedule text := p->>'scheduleName';
  t tenantry.tenants;
  v_gone boolean;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = v_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no tenant %', v_tenant USING ERRCODE = 'TY006';
  END IF;
  v_gone := NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name);
  IF t.execution_id = v_exec AND t.previous_status IS NOT NULL AND t.status <> 'scheduled_for_deletion' THEN
    RETURN jsonb_build_object('schema', t.schema_name, 'previousStatus', t.previous_status, 'blueprint', t.blueprint,
                              'blueprintVersion', t.blueprint_version, 'templateId', t.template_id,
                              'templateVersion', t.template_version,
                              'schemaDropped', t.status = 'deprovisioning' AND v_gone);
  END IF;
  IF p->>'redriveOf' IS NOT NULL AND t.execution_id = p->>'redriveOf' AND t.status = 'failed'
     AND t.previous_status IS NOT NULL AND t.deprovisioned_at IS NULL AND v_gone THEN
    UPDATE tenantry.tenants
       SET execution_id = v_exec, status = 'deprovisioning', failed_step = NULL, last_error = NULL, updated_at = now()
     WHERE tenant_id = v_tenant;
    PERFORM tenantry.audit(v_tenant, 'deprovision.started', p->>'requestedBy', v_exec,
      jsonb_build_object('options', p->'options', 'redriveOf', p->>'redriveOf', 'schemaDropped', true));
    RETURN jsonb_build_object('schema', t.schema_name, 'previousStatus', t.previous_status, 'blueprint', t.blueprint,
                              'blueprintVersion', t.blueprint_version, 'templateId', t.template_id,
                              'templateVersion', t.template_version, 'schemaDropped', true);
  END IF;
  IF v_schedule IS NOT NULL THEN
    UPDATE tenantry.deletion_schedules SET status = 'fired', execution_id = v_exec, updated_at = clock_timestamp()
     WHERE schedule_name = v_schedule AND tenant_id = v_tenant AND (status = 'scheduled' OR execution_id = v_exec);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'the deletion of tenant % scheduled as % was cancelled', v_tenant, v_schedule USING ERRCODE = 'TY007';
    END IF;
  ELSIF t.status = 'scheduled_for_deletion' THEN
    RAISE EXCEPTION 'tenant % is scheduled for deletion at %: cancel that first', v_tenant, t.deletion_due_at
      USING ERRCODE = 'TY008';
  END IF;
  IF t.status = 'provisioning' THEN
    RAISE EXCEPTION 'tenant % is being provisioned by execution %', v_tenant, t.execution_id
      USING ERRCODE = 'TY001', DETAIL = t.execution_id;
  END IF;
  IF t.status NOT IN ('active', 'disabled', 'scheduled_for_deletion') THEN
    RAISE EXCEPTION 'tenant % is % and cannot be deprovisioned', v_tenant, t.status USING ERRCODE = 'TY007', DETAIL = t.status;
  END IF;
  UPDATE tenantry.tenants
     SET execution_id = v_exec,
         previous_status = CASE WHEN t.status = 'scheduled_for_deletion' THEN coalesce(t.previous_status, 'active') ELSE t.status END,
         deprovision_options = p->'options', failed_step = NULL, last_error = NULL, updated_at = now()
   WHERE tenant_id = v_tenant;
  PERFORM tenantry.audit(v_tenant, 'deprovision.started', p->>'requestedBy', v_exec,
    jsonb_build_object('options', p->'options', 'schedule', v_schedule));
  RETURN jsonb_build_object('schema', t.schema_name, 'previousStatus', t.status, 'blueprint', t.blueprint,
                            'blueprintVersion', t.blueprint_version, 'templateId', t.template_id,
                            'templateVersion', t.template_version, 'schemaDropped', false);
END
$$;
`;
