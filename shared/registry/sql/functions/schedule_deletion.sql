CREATE OR REPLACE FUNCTION tenantry.schedule_deletion(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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
  PERFORM tenantry.audit(v_tenant, 'deprovision.scheduled',
    coalesce(p->'input'->>'actor', p->'input'->>'requestedBy'), NULL,
    jsonb_build_object('dueAt', p->>'dueAt', 'schedule', p->>'scheduleName',
                       'requestedBy', p->'input'->>'requestedBy'));
  RETURN jsonb_build_object('scheduleName', p->>'scheduleName', 'dueAt', (p->>'dueAt')::timestamptz);
END
$$;
