CREATE OR REPLACE FUNCTION tenantry.audit(p_tenant text, p_action text, p_actor text, p_execution text, p_detail jsonb)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO tenantry.audit_log (tenant_id, action, actor, execution_id, detail)
  VALUES (p_tenant, p_action, coalesce(p_actor, 'unknown'), p_execution, coalesce(p_detail, '{}'::jsonb));
$$;
