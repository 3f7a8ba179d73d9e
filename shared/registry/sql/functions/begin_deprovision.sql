-- Validate: claim a tenant that exists and is live, remembering its status to return to on failure.
-- A run a schedule started may only go on while that schedule is live (migration 6); it marks it fired.
-- A redrive (p->>'redriveOf') of a run that failed after dropping the schema takes the tenant back
-- from 'failed' to 'deprovisioning': the target says schemaDropped, and the steps before the drop pass.
CREATE OR REPLACE FUNCTION tenantry.begin_deprovision(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenantId';
  v_exec text := p->>'executionId';
  v_schedule text := p->>'scheduleName';
  v_actor text := coalesce(p->>'actor', p->>'requestedBy');
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
    PERFORM tenantry.audit(v_tenant, 'deprovision.started', v_actor, v_exec,
      jsonb_build_object('options', p->'options', 'redriveOf', p->>'redriveOf', 'schemaDropped', true,
                         'requestedBy', p->>'requestedBy'));
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
  IF t.status IN ('provisioning', 'migrating') THEN
    RAISE EXCEPTION 'tenant % is % by execution %', v_tenant,
      CASE t.status WHEN 'provisioning' THEN 'being provisioned' ELSE 'being migrated' END, t.execution_id
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
  PERFORM tenantry.audit(v_tenant, 'deprovision.started', v_actor, v_exec,
    jsonb_build_object('options', p->'options', 'schedule', v_schedule, 'requestedBy', p->>'requestedBy'));
  RETURN jsonb_build_object('schema', t.schema_name, 'previousStatus', t.status, 'blueprint', t.blueprint,
                            'blueprintVersion', t.blueprint_version, 'templateId', t.template_id,
                            'templateVersion', t.template_version, 'schemaDropped', false);
END
$$;
