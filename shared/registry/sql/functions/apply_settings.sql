-- ApplySettings: record the template version, its settings and limits on the tenant. Idempotent.
CREATE OR REPLACE FUNCTION tenantry.apply_settings(p_tenant text, p_execution text, p_template text, p_version bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
  d jsonb;
BEGIN
  SELECT definition INTO d FROM tenantry.template_versions WHERE template_id = p_template AND version = p_version;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'template % version % does not exist', p_template, p_version USING ERRCODE = 'TY005';
  END IF;
  UPDATE tenantry.tenants
     SET template_id = p_template, template_version = p_version, settings = coalesce(d->'settings', '{}'::jsonb),
         limits = coalesce(d->'limits', '{}'::jsonb), updated_at = now()
   WHERE tenant_id = p_tenant;
  RETURN jsonb_build_object('template', p_template, 'version', p_version,
                            'settings', coalesce(d->'settings', '{}'::jsonb), 'limits', coalesce(d->'limits', '{}'::jsonb));
END
$$;
