-- Verify's result for an active tenant: p_drift is what differs from the lock (missing, unexpected,
-- changed), NULL when nothing does. Audited when it changes: drift found, drift changed, cleared.
CREATE OR REPLACE FUNCTION tenantry.record_drift(p_tenant text, p_drift jsonb, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
  checked timestamptz := clock_timestamp();
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no tenant %', p_tenant USING ERRCODE = 'TY005';
  END IF;
  IF t.status <> 'active' THEN
    RAISE EXCEPTION 'tenant % is %, not active: only an active tenant is verified', p_tenant, t.status
      USING ERRCODE = 'TY007';
  END IF;
  UPDATE tenantry.tenants SET drift = p_drift, drift_checked_at = checked WHERE tenant_id = p_tenant;
  IF p_drift IS DISTINCT FROM t.drift THEN
    PERFORM tenantry.audit(p_tenant,
      CASE WHEN p_drift IS NULL THEN 'verify.clean' WHEN t.drift IS NULL THEN 'verify.drift' ELSE 'verify.drift_changed' END,
      p_actor, NULL, coalesce(p_drift, '{}'::jsonb));
  END IF;
  RETURN jsonb_build_object('drifted', p_drift IS NOT NULL, 'checkedAt', checked,
                            'changed', p_drift IS DISTINCT FROM t.drift);
END
$$;
