-- Rollout's FinishWave: each running tenant of the wave takes the outcome of its migration
-- (tenant_migrations, by the Migrate execution it got). When the Map stopped early (its tolerance
-- passed, a cancel: p_map_error), a migration it cut off is cleaned up as a stopped Migrate is
-- (migrate_cleanup: the tenant active on its committed version) and, unless it had committed,
-- goes back to pending for a resume, like a tenant the Map never started. Otherwise a tenant with no migration was refused
-- before its claim: failed (cancelled, if the rollout was). When the wave's failures pass its
-- tolerance, or its Map could not run at all, the rollout halts, saying why, before any later wave.
CREATE OR REPLACE FUNCTION tenantry.finish_wave(p_rollout text, p_execution text, p_wave bigint,
                                                p_map_error text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  c record;
  r tenantry.rollouts;
  v_tol jsonb;
  v_ran integer;
  v_failed integer;
  v_succeeded integer;
  v_halt boolean;
  v_reason text;
BEGIN
  SELECT * INTO r FROM tenantry.rollouts WHERE rollout_id = p_rollout FOR UPDATE;
  IF NOT FOUND OR r.execution_id IS DISTINCT FROM p_execution THEN
    RAISE EXCEPTION 'rollout % is not held by execution %', p_rollout, p_execution
      USING ERRCODE = 'TY001', DETAIL = coalesce(r.execution_id, '');
  END IF;
  FOR c IN SELECT rt.tenant_id, m.execution_id FROM tenantry.rollout_tenants rt
             JOIN tenantry.tenant_migrations m ON m.rollout_id = p_rollout AND m.tenant_id = rt.tenant_id
              AND right(m.execution_id, length(rt.execution_id) + 1) = ':' || rt.execution_id
            WHERE rt.rollout_id = p_rollout AND rt.wave = p_wave AND rt.status = 'running' AND m.status = 'running' LOOP
    PERFORM tenantry.migrate_cleanup(c.tenant_id, c.execution_id, 'Stopped',
      jsonb_build_object('error', 'Stopped', 'cause', 'the wave stopped before this migration finished'));
    -- Committed before the stop (only Verify or Record was cut): migrated. Otherwise not: pending.
    UPDATE tenantry.rollout_tenants rt
       SET status = CASE WHEN t.blueprint_version >= rt.to_version THEN 'succeeded' ELSE 'pending' END,
           finished_at = CASE WHEN t.blueprint_version >= rt.to_version THEN clock_timestamp() END,
           reason = CASE WHEN t.blueprint_version >= rt.to_version
                         THEN 'committed; the wave stopped before its migration was recorded'
                         ELSE 'the wave stopped before its migration finished' END
      FROM tenantry.tenants t
     WHERE rt.rollout_id = p_rollout AND rt.tenant_id = c.tenant_id AND t.tenant_id = c.tenant_id;
  END LOOP;
  UPDATE tenantry.rollout_tenants rt
     SET status = CASE m.status WHEN 'succeeded' THEN 'succeeded' ELSE 'failed' END,
         error = CASE WHEN m.status = 'succeeded' THEN NULL
                      ELSE coalesce(m.error, jsonb_build_object('error', 'Unfinished', 'cause', 'the migration did not finish')) END,
         finished_at = coalesce(m.finished_at, clock_timestamp())
    FROM tenantry.tenant_migrations m
   WHERE rt.rollout_id = p_rollout AND rt.wave = p_wave AND rt.status = 'running'
     AND m.rollout_id = p_rollout AND m.tenant_id = rt.tenant_id
     AND right(m.execution_id, length(rt.execution_id) + 1) = ':' || rt.execution_id;
  UPDATE tenantry.rollout_tenants
     SET status = CASE WHEN p_map_error IS NOT NULL THEN 'pending'
                       WHEN r.cancel_requested THEN 'cancelled' ELSE 'failed' END,
         finished_at = clock_timestamp(),
         error = CASE WHEN p_map_error IS NOT NULL OR r.cancel_requested THEN NULL
                      ELSE jsonb_build_object('error', 'NotMigrated',
                             'cause', format('Migrate execution %s refused or lost the tenant before migrating it', execution_id)) END,
         reason = CASE WHEN p_map_error IS NOT NULL THEN 'the wave stopped before it started this tenant'
                       WHEN r.cancel_requested THEN 'the rollout was cancelled' END
   WHERE rollout_id = p_rollout AND wave = p_wave AND status = 'running';
  SELECT count(*) FILTER (WHERE status IN ('succeeded', 'failed')), count(*) FILTER (WHERE status = 'failed'),
         count(*) FILTER (WHERE status = 'succeeded')
    INTO v_ran, v_failed, v_succeeded
    FROM tenantry.rollout_tenants WHERE rollout_id = p_rollout AND wave = p_wave;
  SELECT value INTO v_tol FROM jsonb_array_elements(r.waves) WHERE (value->>'wave')::integer = p_wave;
  IF v_tol ? 'toleratedFailurePercentage' THEN
    v_halt := v_failed * 100.0 > (v_tol->>'toleratedFailurePercentage')::numeric * v_ran;
    v_reason := format('wave %s: %s of %s tenants failed, more than the %s%% it tolerates', p_wave, v_failed, v_ran,
                       v_tol->>'toleratedFailurePercentage');
  ELSE
    v_halt := v_failed > coalesce((v_tol->>'toleratedFailureCount')::integer, 0);
    v_reason := format('wave %s: %s of %s tenants failed, more than the %s it tolerates', p_wave, v_failed, v_ran,
                       coalesce((v_tol->>'toleratedFailureCount')::integer, 0));
  END IF;
  IF NOT v_halt AND p_map_error IS NOT NULL AND NOT r.cancel_requested THEN
    -- The Map stopped without a failure to show for it (its items could not be read, ...).
    v_halt := true;
    v_reason := format('wave %s could not run: %s', p_wave, p_map_error);
  END IF;
  IF v_halt AND NOT r.cancel_requested THEN
    UPDATE tenantry.rollouts SET status = 'halted', halt_reason = v_reason, updated_at = clock_timestamp()
     WHERE rollout_id = p_rollout;
  END IF;
  RETURN jsonb_build_object('wave', p_wave, 'succeeded', v_succeeded, 'failed', v_failed,
                            'halted', v_halt AND NOT r.cancel_requested,
                            'reason', CASE WHEN v_halt AND NOT r.cancel_requested THEN v_reason END);
END
$$;
