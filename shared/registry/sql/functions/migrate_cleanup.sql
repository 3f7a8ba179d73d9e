-- Migrate's Cleanup: the tenant goes back to active at whatever version is committed (the one it
-- had, unless ApplyMigrations committed and a later step failed), with the failure on the tenant
-- and on its migration record. A tenant this execution does not hold is not touched (only audited).
CREATE OR REPLACE FUNCTION tenantry.migrate_cleanup(p_tenant text, p_execution text, p_step text, p_error jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
  r tenantry.tenant_migrations;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND OR t.execution_id IS DISTINCT FROM p_execution THEN
    PERFORM tenantry.audit(p_tenant, 'migrate.rejected', NULL, p_execution,
      jsonb_build_object('step', p_step, 'error', p_error));
    RETURN jsonb_build_object('owned', false, 'status', t.status, 'version', t.blueprint_version);
  END IF;
  IF t.status <> 'migrating' THEN
    -- Already cleaned up (a retried Cleanup), or recorded: nothing to undo.
    RETURN jsonb_build_object('owned', true, 'status', t.status, 'version', t.blueprint_version);
  END IF;
  UPDATE tenantry.tenants SET status = 'active', failed_step = p_step, last_error = p_error, updated_at = now()
   WHERE tenant_id = p_tenant;
  UPDATE tenantry.tenant_migrations
     SET status = 'failed', failed_step = p_step, error = p_error, finished_at = clock_timestamp()
   WHERE execution_id = p_execution
  RETURNING * INTO r;
  PERFORM tenantry.audit(p_tenant, 'migrate.failed', coalesce(r.requested_by, t.requested_by), p_execution,
    jsonb_build_object('step', p_step, 'error', p_error, 'fromVersion', r.from_version, 'toVersion', r.to_version,
                       'version', t.blueprint_version));
  RETURN jsonb_build_object('owned', true, 'status', 'active', 'version', t.blueprint_version);
END
$$;
