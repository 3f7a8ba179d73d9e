-- PUT /tenants/{id}/domains: the tenant's domains, replaced whole (take_domains.sql), with an audit
-- entry of what they were. A deprovisioned tenant holds none and takes none (TY007): restore it.
CREATE OR REPLACE FUNCTION tenantry.set_domains(p_tenant text, p_hosts jsonb, p_actor text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_status text;
  r jsonb;
BEGIN
  SELECT status INTO v_status FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no tenant %', p_tenant USING ERRCODE = 'TY006';
  END IF;
  IF v_status = 'deprovisioned' THEN
    RAISE EXCEPTION 'tenant % is deprovisioned: it holds no domains until it is restored', p_tenant
      USING ERRCODE = 'TY007';
  END IF;
  r := tenantry.take_domains(p_tenant, p_hosts);
  IF r->'domains' IS DISTINCT FROM r->'previous' THEN
    UPDATE tenantry.tenants SET updated_at = now() WHERE tenant_id = p_tenant;
  END IF;
  PERFORM tenantry.audit(p_tenant, 'domains.set', p_actor, NULL, r);
  RETURN r;
END
$$;
