-- The tenant row, locked, if p_execution owns it in one of the given statuses; else TY001.
CREATE OR REPLACE FUNCTION tenantry.own_tenant(p_tenant text, p_execution text, p_statuses text[] DEFAULT ARRAY['provisioning'])
RETURNS tenantry.tenants LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'tenant % is not claimed by execution %', p_tenant, p_execution
      USING ERRCODE = 'TY001', DETAIL = '';
  END IF;
  IF t.execution_id IS DISTINCT FROM p_execution OR NOT (t.status = ANY (p_statuses)) THEN
    RAISE EXCEPTION 'tenant % is held by execution % (status %)', p_tenant, t.execution_id, t.status
      USING ERRCODE = 'TY001', DETAIL = t.execution_id;
  END IF;
  RETURN t;
END
$$;
