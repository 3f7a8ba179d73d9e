-- A person's request to a rollout (the pause, resume and cancel routes): pause and cancel are
-- taken by the execution driving it (before the next wave; a cancel also before each tenant's
-- claim); a paused or halted rollout is cancelled at once; resume hands a paused or halted rollout
-- to the execution p_execution about to start (running again, its failed tenants pending again),
-- so that it reads as running from that moment. Audited.
CREATE OR REPLACE FUNCTION tenantry.rollout_request(p_rollout text, p_action text, p_actor text,
                                                    p_execution text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r tenantry.rollouts;
BEGIN
  SELECT * INTO r FROM tenantry.rollouts WHERE rollout_id = p_rollout FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no rollout %', p_rollout USING ERRCODE = 'TY006';
  END IF;
  IF p_action = 'pause' THEN
    IF r.status <> 'running' THEN
      RAISE EXCEPTION 'rollout % is % and cannot be paused', p_rollout, r.status USING ERRCODE = 'TY007';
    END IF;
    UPDATE tenantry.rollouts SET pause_requested = true, updated_at = clock_timestamp() WHERE rollout_id = p_rollout;
  ELSIF p_action = 'resume' THEN
    IF r.status NOT IN ('paused', 'halted') THEN
      RAISE EXCEPTION 'rollout % is % and cannot be resumed', p_rollout, r.status USING ERRCODE = 'TY007';
    END IF;
    IF p_execution IS NULL THEN
      RAISE EXCEPTION 'resuming rollout % needs the execution that resumes it', p_rollout USING ERRCODE = '22023';
    END IF;
    UPDATE tenantry.rollouts
       SET status = 'running', execution_id = p_execution, halt_reason = NULL, pause_requested = false,
           updated_at = clock_timestamp()
     WHERE rollout_id = p_rollout;
    UPDATE tenantry.rollout_tenants SET status = 'pending', error = NULL, reason = NULL
     WHERE rollout_id = p_rollout AND status = 'failed';
  ELSIF p_action = 'cancel' THEN
    IF r.status IN ('paused', 'halted') THEN
      UPDATE tenantry.rollout_tenants SET status = 'cancelled', reason = 'the rollout was cancelled'
       WHERE rollout_id = p_rollout AND status IN ('pending', 'failed');
      UPDATE tenantry.rollouts SET status = 'cancelled', cancel_requested = true, finished_at = clock_timestamp(),
             updated_at = clock_timestamp()
       WHERE rollout_id = p_rollout;
    ELSIF r.status = 'running' THEN
      UPDATE tenantry.rollouts SET cancel_requested = true, updated_at = clock_timestamp() WHERE rollout_id = p_rollout;
    ELSE
      RAISE EXCEPTION 'rollout % is % and cannot be cancelled', p_rollout, r.status USING ERRCODE = 'TY007';
    END IF;
  ELSE
    RAISE EXCEPTION 'unknown rollout action %', p_action USING ERRCODE = '22023';
  END IF;
  PERFORM tenantry.audit('rollout:' || p_rollout, 'rollout.' || p_action, p_actor, r.execution_id,
    jsonb_build_object('status', r.status));
  SELECT * INTO r FROM tenantry.rollouts WHERE rollout_id = p_rollout;
  RETURN jsonb_build_object('rolloutId', p_rollout, 'status', r.status, 'pauseRequested', r.pause_requested,
                            'cancelRequested', r.cancel_requested);
END
$$;
