-- Validate: claim the tenant for this execution (the per-tenant lock), or say why not. Records
-- whether the request (or its template) asks for a login of the tenant's own (`login`), so that a
-- failed run's Cleanup deletes its secret and a restore makes it again (control migration 0020).
CREATE OR REPLACE FUNCTION tenantry.claim_tenant(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenantId';
  v_exec text := p->>'executionId';
  -- Who asked, as the API authenticated them; a run started without one (an older client of the
  -- engine) falls back on the request's own note.
  v_actor text := coalesce(p->>'actor', p->>'requestedBy');
  v_other text;
  t tenantry.tenants;
BEGIN
  SELECT tenant_id INTO v_other FROM tenantry.tenants
   WHERE schema_name = p->>'schemaName' AND tenant_id <> v_tenant;
  IF FOUND THEN
    RAISE EXCEPTION 'schema % is already used by tenant %', p->>'schemaName', v_other USING ERRCODE = 'TY004';
  END IF;
  BEGIN
    INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version,
                                  requested_by, execution_id, labels, actor, login)
    VALUES (v_tenant, p->>'displayName', p->>'schemaName', 'provisioning', p->>'blueprint',
            (p->>'blueprintVersion')::integer, p->>'requestedBy', v_exec, coalesce(p->'labels', '{}'::jsonb),
            v_actor, coalesce((p->>'login')::boolean, false))
    ON CONFLICT (tenant_id) DO NOTHING;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'schema % is already used by another tenant', p->>'schemaName' USING ERRCODE = 'TY004';
  END;
  IF FOUND THEN
    -- The request's domains (take_domains.sql): one another tenant holds fails the claim (TY010).
    PERFORM tenantry.take_domains(v_tenant, p->'domains');
    PERFORM tenantry.audit(v_tenant, 'provision.started', v_actor, v_exec,
      jsonb_build_object('blueprint', p->>'blueprint', 'blueprintVersion', (p->>'blueprintVersion')::integer,
                         'requestedBy', p->>'requestedBy'));
    RETURN jsonb_build_object('claimed', true, 'previousStatus', NULL);
  END IF;

  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = v_tenant FOR UPDATE;
  IF t.execution_id = v_exec AND t.status = 'provisioning' THEN
    RETURN jsonb_build_object('claimed', true, 'previousStatus', 'provisioning');
  END IF;
  IF t.status IN ('failed', 'cancelled') THEN
    UPDATE tenantry.tenants
       SET status = 'provisioning', execution_id = v_exec, display_name = p->>'displayName',
           blueprint = p->>'blueprint', blueprint_version = (p->>'blueprintVersion')::integer,
           requested_by = p->>'requestedBy', labels = coalesce(p->'labels', '{}'::jsonb), actor = v_actor,
           login = coalesce((p->>'login')::boolean, false), login_role = NULL, login_secret = NULL,
           schema_created_by = NULL, failed_step = NULL, last_error = NULL,
           warnings = '[]'::jsonb, summary = NULL, updated_at = now()
     WHERE tenant_id = v_tenant;
    PERFORM tenantry.take_domains(v_tenant, p->'domains');
    PERFORM tenantry.audit(v_tenant, 'provision.started', v_actor, v_exec,
      jsonb_build_object('blueprint', p->>'blueprint', 'previousStatus', t.status,
                         'blueprintVersion', (p->>'blueprintVersion')::integer, 'requestedBy', p->>'requestedBy'));
    RETURN jsonb_build_object('claimed', true, 'previousStatus', t.status);
  END IF;
  IF t.status = 'provisioning' THEN
    RAISE EXCEPTION 'tenant % is being provisioned by execution %', v_tenant, t.execution_id
      USING ERRCODE = 'TY001', DETAIL = t.execution_id;
  END IF;
  RAISE EXCEPTION 'tenant % already exists (status %)', v_tenant, t.status USING ERRCODE = 'TY003', DETAIL = t.status;
END
$$;
