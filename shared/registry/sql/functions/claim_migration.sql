-- Migrate's Validate: claim an active tenant for this execution (status migrating: no Provision,
-- Deprovision or other Migrate may touch it meanwhile) and open its record in tenant_migrations.
-- p: {tenantId, executionId, targetVersion, requestedBy, rolloutId?}. A tenant of a rollout that
-- is no longer running (a cancel) is refused, so a cancel stops a wave before its next tenant. Idempotent for the execution that
-- claimed. A tenant already at (or past) the target, or not active, is refused (TY007); one held by
-- another execution is busy (TY001, DETAIL: that execution); an unknown one is TY006.
CREATE OR REPLACE FUNCTION tenantry.claim_migration(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenantId';
  v_exec text := p->>'executionId';
  v_target integer := (p->>'targetVersion')::integer;
  t tenantry.tenants;
  r tenantry.tenant_migrations;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = v_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'tenant % does not exist', v_tenant USING ERRCODE = 'TY006';
  END IF;
  IF p->>'rolloutId' IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM tenantry.rollouts WHERE rollout_id = p->>'rolloutId' AND NOT cancel_requested
          AND status = 'running') THEN
    RAISE EXCEPTION 'rollout % is not running (cancelled or stopped): tenant % is left as it is', p->>'rolloutId', v_tenant
      USING ERRCODE = 'TY007';
  END IF;
  IF t.status = 'migrating' AND t.execution_id = v_exec THEN
    SELECT * INTO r FROM tenantry.tenant_migrations WHERE execution_id = v_exec;
    RETURN jsonb_build_object('claimed', true, 'schemaName', t.schema_name, 'blueprint', t.blueprint,
                              'fromVersion', r.from_version, 'toVersion', r.to_version);
  END IF;
  IF t.status IN ('provisioning', 'deprovisioning', 'migrating') THEN
    RAISE EXCEPTION 'tenant % is being changed by execution % (status %)', v_tenant, t.execution_id, t.status
      USING ERRCODE = 'TY001', DETAIL = t.execution_id;
  END IF;
  IF t.status <> 'active' THEN
    RAISE EXCEPTION 'tenant % is % and cannot be migrated', v_tenant, t.status USING ERRCODE = 'TY007';
  END IF;
  IF t.blueprint_version >= v_target THEN
    RAISE EXCEPTION 'tenant % is already at % v%: nothing to migrate to v%', v_tenant, t.blueprint,
      t.blueprint_version, v_target USING ERRCODE = 'TY007';
  END IF;
  UPDATE tenantry.tenants SET status = 'migrating', execution_id = v_exec, updated_at = now()
   WHERE tenant_id = v_tenant;
  INSERT INTO tenantry.tenant_migrations (execution_id, tenant_id, blueprint, from_version, to_version, status,
                                          requested_by, rollout_id)
  VALUES (v_exec, v_tenant, t.blueprint, t.blueprint_version, v_target, 'running', p->>'requestedBy',
          p->>'rolloutId');
  PERFORM tenantry.audit(v_tenant, 'migrate.started', p->>'requestedBy', v_exec,
    jsonb_build_object('blueprint', t.blueprint, 'fromVersion', t.blueprint_version, 'toVersion', v_target,
                       'rolloutId', p->>'rolloutId'));
  RETURN jsonb_build_object('claimed', true, 'schemaName', t.schema_name, 'blueprint', t.blueprint,
                            'fromVersion', t.blueprint_version, 'toVersion', v_target);
END
$$;
