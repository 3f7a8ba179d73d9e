-- Validate (restore): claim a deprovisioned tenant that has a backup; returns what to rebuild.
CREATE OR REPLACE FUNCTION tenantry.claim_restore(p_tenant text, p_execution text, p_actor text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no tenant %', p_tenant USING ERRCODE = 'TY006';
  END IF;
  IF NOT (t.execution_id = p_execution AND t.status = 'provisioning') THEN
    IF t.backup_manifest IS NULL OR NOT (t.status = 'deprovisioned' OR (t.status IN ('failed', 'cancelled') AND t.deprovisioned_at IS NOT NULL)) THEN
      RAISE EXCEPTION 'tenant % is % and has no backup to restore', p_tenant, t.status USING ERRCODE = 'TY007';
    END IF;
    UPDATE tenantry.tenants
       SET status = 'provisioning', execution_id = p_execution, schema_created_by = NULL, failed_step = NULL,
           last_error = NULL, requested_by = coalesce(p_actor, t.requested_by), actor = p_actor,
           updated_at = now()
     WHERE tenant_id = p_tenant;
    PERFORM tenantry.audit(p_tenant, 'restore.started', p_actor, p_execution, jsonb_build_object('manifest', t.backup_manifest));
  END IF;
  RETURN jsonb_build_object('displayName', t.display_name, 'schemaName', t.schema_name, 'blueprint', t.blueprint,
                            'blueprintVersion', t.blueprint_version, 'manifest', t.backup_manifest);
END
$$;
