-- Migrate's Record: the tenant is active again at its new version; its migration succeeded.
-- Idempotent for the execution that did it.
CREATE OR REPLACE FUNCTION tenantry.record_migration(p_tenant text, p_execution text, p_fingerprint text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['migrating', 'active']);
  r tenantry.tenant_migrations;
BEGIN
  SELECT * INTO r FROM tenantry.tenant_migrations WHERE execution_id = p_execution FOR UPDATE;
  IF t.status = 'active' THEN
    RETURN jsonb_build_object('status', t.status, 'version', t.blueprint_version, 'alreadyRecorded', true);
  END IF;
  UPDATE tenantry.tenants
     SET status = 'active', failed_step = NULL, last_error = NULL, updated_at = now(),
         summary = coalesce(summary, '{}'::jsonb)
                   || jsonb_build_object('blueprintVersion', t.blueprint_version, 'fingerprint', p_fingerprint)
   WHERE tenant_id = p_tenant;
  UPDATE tenantry.tenant_migrations SET status = 'succeeded', finished_at = clock_timestamp()
   WHERE execution_id = p_execution;
  PERFORM tenantry.audit(p_tenant, 'migrate.succeeded', r.requested_by, p_execution,
    jsonb_build_object('blueprint', t.blueprint, 'fromVersion', r.from_version, 'toVersion', t.blueprint_version,
                       'applied', to_jsonb(r.applied), 'fingerprint', p_fingerprint));
  RETURN jsonb_build_object('status', 'active', 'version', t.blueprint_version, 'alreadyRecorded', false);
END
$$;
