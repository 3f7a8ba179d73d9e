CREATE OR REPLACE FUNCTION tenantry.cancel_deletion(p_tenant text, p_actor text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
  v_schedule text;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no tenant %', p_tenant USING ERRCODE = 'TY006';
  END IF;
  IF t.status <> 'scheduled_for_deletion' THEN
    RAISE EXCEPTION 'tenant % is % and has no scheduled deletion to cancel', p_tenant, t.status USING ERRCODE = 'TY007';
  END IF;
  UPDATE tenantry.deletion_schedules SET status = 'cancelled', updated_at = clock_timestamp()
   WHERE tenant_id = p_tenant AND status = 'scheduled' RETURNING schedule_name INTO v_schedule;
  IF NOT FOUND THEN
    -- The schedule fired: its deprovisioning owns the tenant now and cannot be called back here.
    RAISE EXCEPTION 'the scheduled deletion of tenant % has already started (execution %)', p_tenant, t.execution_id
      USING ERRCODE = 'TY007';
  END IF;
  UPDATE tenantry.tenants
     SET status = coalesce(t.previous_status, 'active'), previous_status = NULL, deletion_due_at = NULL, updated_at = now()
   WHERE tenant_id = p_tenant;
  PERFORM tenantry.audit(p_tenant, 'deprovision.schedule_cancelled', p_actor, NULL, jsonb_build_object('schedule', v_schedule));
  RETURN jsonb_build_object('scheduleName', v_schedule, 'status', coalesce(t.previous_status, 'active'));
END
$$;
