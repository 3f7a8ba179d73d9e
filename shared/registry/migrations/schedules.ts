/**
 * Control migration: scheduled deletions (a deprovisioning after a grace period). Both engines
 * record the schedule here; on AWS an EventBridge Scheduler one-time schedule fires it, locally
 * the local scheduler does. A fired run checks its schedule is still live (begin_deprovision,
 * migration 5), so a cancel can never lose to a schedule that fires at the same moment.
 */
export const SCHEDULES_SQL = `
CREATE TABLE tenantry.deletion_schedules (
  schedule_name  text PRIMARY KEY,
  tenant_id      text NOT NULL,
  due_at         timestamptz NOT NULL,
  input          jsonb NOT NULL,
  status         text NOT NULL CHECK (status IN ('scheduled', 'fired', 'cancelled')),
  execution_id   text,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX deletion_schedules_one_live_per_tenant ON tenantry.deletion_schedules (tenant_id) WHERE status = 'scheduled';
CREATE INDEX deletion_schedules_due_idx ON tenantry.deletion_schedules (due_at) WHERE status = 'scheduled';

CREATE FUNCTION tenantry.schedule_deletion(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenantId';
  t tenantry.tenants;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = v_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no tenant %', v_tenant USING ERRCODE = 'TY006';
  END IF;
  IF t.status = 'scheduled_for_deletion' THEN
    RAISE EXCEPTION 'tenant % is already scheduled for deletion at %', v_tenant, t.deletion_due_at
      USING ERRCODE = 'TY008', DETAIL = t.deletion_due_at::text;
  END IF;
  IF t.status NOT IN ('active', 'disabled') THEN
    RAISE EXCEPTION 'tenant % is % and cannot be scheduled for deletion', v_tenant, t.status USING ERRCODE = 'TY007';
  END IF;
  UPDATE tenantry.tenants
     SET status = 'scheduled_for_deletion', previous_status = t.status, deletion_due_at = (p->>'dueAt')::timestamptz,
         updated_at = now()
   WHERE tenant_id = v_tenant;
  INSERT INTO tenantry.deletion_schedules (schedule_name, tenant_id, due_at, input, status)
  VALUES (p->>'scheduleName', v_tenant, (p->>'dueAt')::timestamptz, p->'input', 'scheduled');
  PERFORM tenantry.audit(v_tenant, 'deprovision.scheduled', p->'input'->>'requestedBy', NULL,
    jsonb_build_object('dueAt', p->>'dueAt', 'schedule', p->>'scheduleName'));
  RETURN jsonb_build_object('scheduleName', p->>'scheduleName', 'dueAt', (p->>'dueAt')::timestamptz);
END
$$;

CREATE FUNCTION tenantry.cancel_deletion(p_tenant text, p_actor text) RETURNS jsonb LANGUAGE plpgsql AS $$
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
`;
