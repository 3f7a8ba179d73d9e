-- Rollout's Cleanup: the execution driving a rollout failed (not a tenant: a wave's failures
-- halt it in FinishWave). Its running tenants take their migrations' outcome as FinishWave would
-- give it, and the rollout is halted with the error, so that it can be resumed.
CREATE OR REPLACE FUNCTION tenantry.rollout_cleanup(p_rollout text, p_execution text, p_step text, p_error jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r tenantry.rollouts;
  v_wave integer;
BEGIN
  SELECT * INTO r FROM tenantry.rollouts WHERE rollout_id = p_rollout FOR UPDATE;
  IF NOT FOUND OR r.execution_id IS DISTINCT FROM p_execution THEN
    RETURN jsonb_build_object('owned', false, 'status', r.status);
  END IF;
  IF r.status <> 'running' THEN
    RETURN jsonb_build_object('owned', true, 'status', r.status);
  END IF;
  FOR v_wave IN SELECT DISTINCT wave FROM tenantry.rollout_tenants WHERE rollout_id = p_rollout AND status = 'running' LOOP
    PERFORM tenantry.finish_wave(p_rollout, p_execution, v_wave, 'the rollout stopped');
  END LOOP;
  UPDATE tenantry.rollouts
     SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'halted' END,
         finished_at = CASE WHEN cancel_requested THEN clock_timestamp() END,
         halt_reason = coalesce(halt_reason, format('the rollout failed at %s: %s', p_step, p_error->>'error')),
         updated_at = clock_timestamp()
   WHERE rollout_id = p_rollout
  RETURNING * INTO r;
  RETURN jsonb_build_object('owned', true, 'status', r.status);
END
$$;
