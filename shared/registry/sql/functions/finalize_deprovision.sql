-- Finalize: deprovisioned, with where the backup is and its manifest, its domains released (another
-- tenant may take them; a restore takes back those still free). Idempotent for its execution.
CREATE OR REPLACE FUNCTION tenantry.finalize_deprovision(p_tenant text, p_execution text, p_backup text, p_manifest text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['deprovisioning', 'deprovisioned']);
  v_released jsonb;
BEGIN
  IF t.status = 'deprovisioning' THEN
    UPDATE tenantry.tenants
       SET status = 'deprovisioned', backup_location = p_backup, backup_manifest = p_manifest, deprovisioned_at = now(),
           previous_status = NULL, updated_at = now()
     WHERE tenant_id = p_tenant RETURNING * INTO t;
    WITH released AS (
      UPDATE tenantry.tenant_domains SET released_at = now()
       WHERE tenant_id = p_tenant AND released_at IS NULL RETURNING host, position)
    SELECT coalesce(jsonb_agg(host ORDER BY position), '[]'::jsonb) INTO v_released FROM released;
    PERFORM tenantry.audit(p_tenant, 'deprovision.succeeded', NULL, p_execution,
      jsonb_build_object('backup', p_backup, 'manifest', p_manifest)
        || CASE WHEN v_released = '[]'::jsonb THEN '{}'::jsonb ELSE jsonb_build_object('releasedDomains', v_released) END);
  END IF;
  RETURN jsonb_build_object('status', t.status, 'backupLocation', t.backup_location, 'deprovisionedAt', t.deprovisioned_at);
END
$$;
