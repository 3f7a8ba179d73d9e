-- Rollout's FinishWave: each running tenant of the wave takes the outcome of its migration
-- (tenant_migrations, by the Migrate execution it got); one that has none failed before it claimed
-- the tenant (cancelled, if the rollout was). When the wave's failures pass its tolerance, the
-- rollout halts, saying why, before any later wave starts.
CREATE OR REPLACE FUNCTION tenantry.finish_wave(p_rollout text, p_execution text, p_wave bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
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
     SET status = CASE WHEN r.cancel_requested THEN 'cancelled' ELSE 'failed' END,
         finished_at = clock_timestamp(),
         error = CASE WHEN r.cancel_requested THEN NULL
                      ELSE jsonb_build_object('error', 'NotMigrated',
                             'cause', format('Migrate execution %s refused or lost the tenant before migrating it', execution_id)) END,
         reason = CASE WHEN r.cancel_requested THEN 'the rollout was cancelled' END
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
  IF v_halt AND NOT r.cancel_requested THEN
    UPDATE tenantry.rollouts SET status = 'halted', halt_reason = v_reason, updated_at = clock_timestamp()
     WHERE rollout_id = p_rollout;
  END IF;
  RETURN jsonb_build_object('wave', p_wave, 'succeeded', v_succeeded, 'failed', v_failed,
                            'halted', v_halt AND NOT r.cancel_requested,
                            'reason', CASE WHEN v_halt AND NOT r.cancel_requested THEN v_reason END);
END
$$;
