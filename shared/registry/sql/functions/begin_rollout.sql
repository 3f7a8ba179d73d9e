-- Rollout's Select: a new rollout from its plan (p: {rolloutId, executionId, blueprint,
-- targetVersion, request, requestedBy, waves: [{wave, tenants: [{tenantId, fromVersion}],
-- toleratedFailureCount, toleratedFailurePercentage?}], skipped: [{tenantId, fromVersion, reason}]}),
-- or the resumption of a paused or halted one by a new execution: its failed tenants are pending
-- again, in their waves. Idempotent for the execution that began it. A rollout another execution
-- drives is busy (TY001); a finished one cannot be resumed (TY007).
CREATE OR REPLACE FUNCTION tenantry.begin_rollout(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_id text := p->>'rolloutId';
  v_exec text := p->>'executionId';
  r tenantry.rollouts;
  w jsonb;
  v_resumed boolean := false;
BEGIN
  SELECT * INTO r FROM tenantry.rollouts WHERE rollout_id = v_id FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO tenantry.rollouts (rollout_id, blueprint, target_version, request, waves, status, execution_id, requested_by)
    VALUES (v_id, p->>'blueprint', (p->>'targetVersion')::integer, p->'request',
            coalesce((SELECT jsonb_agg(x - 'tenants') FROM jsonb_array_elements(p->'waves') x), '[]'::jsonb),
            'running', v_exec, p->>'requestedBy');
    FOR w IN SELECT value FROM jsonb_array_elements(p->'waves') LOOP
      INSERT INTO tenantry.rollout_tenants (rollout_id, tenant_id, wave, status, from_version, to_version)
      SELECT v_id, t->>'tenantId', (w->>'wave')::integer, 'pending', (t->>'fromVersion')::integer,
             (p->>'targetVersion')::integer
        FROM jsonb_array_elements(w->'tenants') t;
    END LOOP;
    INSERT INTO tenantry.rollout_tenants (rollout_id, tenant_id, wave, status, from_version, to_version, reason)
    SELECT v_id, s->>'tenantId', -1, 'skipped', coalesce((s->>'fromVersion')::integer, 0),
           (p->>'targetVersion')::integer, s->>'reason'
      FROM jsonb_array_elements(coalesce(p->'skipped', '[]'::jsonb)) s;
    SELECT * INTO r FROM tenantry.rollouts WHERE rollout_id = v_id;
  ELSIF r.execution_id = v_exec AND r.status = 'running' THEN
    NULL; -- a retried Select
  ELSIF r.status = 'running' THEN
    RAISE EXCEPTION 'rollout % is being run by execution %', v_id, r.execution_id
      USING ERRCODE = 'TY001', DETAIL = r.execution_id;
  ELSIF r.status IN ('paused', 'halted') THEN
    UPDATE tenantry.rollouts
       SET status = 'running', execution_id = v_exec, halt_reason = NULL, pause_requested = false,
           updated_at = clock_timestamp()
     WHERE rollout_id = v_id
    RETURNING * INTO r;
    UPDATE tenantry.rollout_tenants SET status = 'pending', error = NULL, reason = NULL
     WHERE rollout_id = v_id AND status = 'failed';
    v_resumed := true;
  ELSE
    RAISE EXCEPTION 'rollout % is % and cannot be resumed', v_id, r.status USING ERRCODE = 'TY007';
  END IF;
  RETURN jsonb_build_object(
    'rolloutId', v_id, 'status', r.status, 'resumed', v_resumed, 'targetVersion', r.target_version,
    'waves', jsonb_array_length(r.waves),
    'tenants', (SELECT count(*) FROM tenantry.rollout_tenants WHERE rollout_id = v_id AND wave >= 0),
    'skipped', (SELECT count(*) FROM tenantry.rollout_tenants WHERE rollout_id = v_id AND status = 'skipped'));
END
$$;
