-- DropSchema: keep the audit rows if asked (same transaction), then drop the tenant's login
-- (drop_tenant_login.sql: first, so none of its sessions holds a lock the drop would wait for), the
-- schema and, after it, the tenant's role (drop_tenant_role.sql). Idempotent. `loginRole`: for a
-- tenant with a login, its role's name, whose secret the step then deletes (answered again by a
-- retry, so the secret goes even when the call that dropped the role lost its answer).
CREATE OR REPLACE FUNCTION tenantry.drop_tenant_schema(p_tenant text, p_execution text, p_audit_tables jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['disabled', 'deprovisioning']);
  v_table text;
  v_n bigint;
  v_archived bigint := 0;
  v_dropped boolean := false;
  v_login boolean;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    FOR v_table IN SELECT jsonb_array_elements_text(coalesce(p_audit_tables, '[]'::jsonb)) LOOP
      CONTINUE WHEN to_regclass(format('%I.%I', t.schema_name, v_table)) IS NULL;
      EXECUTE format(
        'INSERT INTO tenantry.archived_audit_rows (tenant_id, source_table, row_data, row_hash, execution_id)
         SELECT $1, $2, to_jsonb(r), md5(to_jsonb(r)::text), $3 FROM %I.%I r ON CONFLICT DO NOTHING', t.schema_name, v_table)
        USING p_tenant, v_table, p_execution;
      GET DIAGNOSTICS v_n = ROW_COUNT;
      v_archived := v_archived + v_n;
    END LOOP;
  END IF;
  v_login := tenantry.drop_tenant_login(t.schema_name);
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    EXECUTE format('DROP SCHEMA %I CASCADE', t.schema_name);
    v_dropped := true;
  END IF;
  PERFORM tenantry.drop_tenant_role(t.schema_name);
  UPDATE tenantry.tenants SET status = 'deprovisioning', login_role = NULL, login_secret = NULL, updated_at = now()
   WHERE tenant_id = p_tenant;
  PERFORM tenantry.audit(p_tenant, 'tenant.schema_dropped', NULL, p_execution,
    jsonb_build_object('archivedAuditRows', v_archived, 'dropped', v_dropped)
      || CASE WHEN v_login THEN jsonb_build_object('droppedLogin', tenantry.tenant_login(t.schema_name)) ELSE '{}'::jsonb END);
  RETURN jsonb_build_object('dropped', v_dropped, 'archivedAuditRows', v_archived, 'droppedLogin', v_login,
    'loginRole', CASE WHEN t.login THEN tenantry.tenant_login(t.schema_name) END);
END
$$;
