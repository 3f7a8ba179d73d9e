-- Rollout's NextWave: what the execution driving the rollout does next. A cancel request ends it
-- (its pending tenants cancelled), a pause request pauses it; otherwise the lowest wave with
-- pending tenants starts: each is checked again (a tenant no longer active, or already at the
-- target, is skipped with the reason) and the others marked running, each with the name of the
-- Migrate execution it gets (one per attempt). With no wave left, the rollout has succeeded.
CREATE OR REPLACE FUNCTION tenantry.next_wave(p_rollout text, p_execution text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r tenantry.rollouts;
  v_wave integer;
  v_items jsonb;
  v_tol jsonb;
BEGIN
  SELECT * INTO r FROM tenantry.rollouts WHERE rollout_id = p_rollout FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no rollout %', p_rollout USING ERRCODE = 'TY006';
  END IF;
  IF r.execution_id IS DISTINCT FROM p_execution OR r.status <> 'running' THEN
    RAISE EXCEPTION 'rollout % is held by execution % (status %)', p_rollout, r.execution_id, r.status
      USING ERRCODE = 'TY001', DETAIL = coalesce(r.execution_id, '');
  END IF;
  IF r.cancel_requested THEN
    UPDATE tenantry.rollout_tenants SET status = 'cancelled', reason = 'the rollout was cancelled'
     WHERE rollout_id = p_rollout AND status = 'pending';
    UPDATE tenantry.rollouts SET status = 'cancelled', finished_at = clock_timestamp(), updated_at = clock_timestamp()
     WHERE rollout_id = p_rollout;
    RETURN jsonb_build_object('action', 'cancelled');
  END IF;
  IF r.pause_requested THEN
    UPDATE tenantry.rollouts SET status = 'paused', pause_requested = false, updated_at = clock_timestamp()
     WHERE rollout_id = p_rollout;
    RETURN jsonb_build_object('action', 'paused');
  END IF;
  LOOP
    SELECT min(wave) INTO v_wave FROM tenantry.rollout_tenants WHERE rollout_id = p_rollout AND status = 'pending';
    IF v_wave IS NULL THEN
      UPDATE tenantry.rollouts SET status = 'succeeded', finished_at = clock_timestamp(), updated_at = clock_timestamp()
       WHERE rollout_id = p_rollout;
      RETURN jsonb_build_object('action', 'done');
    END IF;
    UPDATE tenantry.rollout_tenants rt
       SET status = 'skipped', finished_at = clock_timestamp(),
           reason = coalesce((SELECT CASE WHEN t.status <> 'active'
                                          THEN format('tenant is %s: only an active tenant can be migrated', t.status)
                                          WHEN t.blueprint <> r.blueprint
                                          THEN format('tenant is on blueprint %s now', t.blueprint)
                                          ELSE format('tenant is already at %s v%s', t.blueprint, t.blueprint_version) END
                                FROM tenantry.tenants t WHERE t.tenant_id = rt.tenant_id),
                             'tenant no longer exists')
     WHERE rt.rollout_id = p_rollout AND rt.wave = v_wave AND rt.status = 'pending'
       AND NOT EXISTS (SELECT 1 FROM tenantry.tenants t
                        WHERE t.tenant_id = rt.tenant_id AND t.status = 'active' AND t.blueprint = r.blueprint
                          AND t.blueprint_version < r.target_version);
    WITH started AS (
      UPDATE tenantry.rollout_tenants
         SET status = 'running', attempts = attempts + 1, started_at = clock_timestamp(), finished_at = NULL,
             execution_id = tenant_id || '-m' || left(md5(p_rollout || ':' || (attempts + 1)), 16)
       WHERE rollout_id = p_rollout AND wave = v_wave AND status = 'pending'
      RETURNING tenant_id, execution_id)
    SELECT coalesce(jsonb_agg(jsonb_build_object(
             'tenantId', tenant_id, 'name', execution_id, 'rolloutId', p_rollout,
             'targetVersion', r.target_version, 'requestedBy', r.requested_by) ORDER BY tenant_id), '[]'::jsonb)
      INTO v_items FROM started;
    EXIT WHEN jsonb_array_length(v_items) > 0;
  END LOOP;
  -- The Map's tolerance: a percentage alone (the count then never binds), or a count alone.
  SELECT value INTO v_tol FROM jsonb_array_elements(r.waves) WHERE (value->>'wave')::integer = v_wave;
  RETURN jsonb_build_object(
    'action', 'wave', 'wave', v_wave, 'items', v_items,
    'toleratedFailureCount', CASE WHEN v_tol ? 'toleratedFailurePercentage' THEN jsonb_array_length(v_items)
                                  ELSE coalesce((v_tol->>'toleratedFailureCount')::integer, 0) END,
    'toleratedFailurePercentage', coalesce((v_tol->>'toleratedFailurePercentage')::numeric, 100));
END
$$;
