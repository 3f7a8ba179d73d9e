-- Validate (restore): claim a deprovisioned tenant that has a backup; returns what to rebuild. Its
-- released domains come back: each one no tenant holds now is held again, the others are forgotten
-- and returned as `unavailableDomains` [{host, heldBy}] (the restore warns of each; the audit entry
-- keeps them, so the same execution's claim again answers the same). `login`: the tenant had a login
-- of its own, which the restore makes again, with a new password (CreateLogin).
CREATE OR REPLACE FUNCTION tenantry.claim_restore(p_tenant text, p_execution text, p_actor text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
  d record;
  v_holder text;
  v_taken boolean;
  v_lost jsonb := '[]'::jsonb;
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
           last_error = NULL, login_role = NULL, login_secret = NULL, requested_by = coalesce(p_actor, t.requested_by),
           actor = p_actor, updated_at = now()
     WHERE tenant_id = p_tenant;
    FOR d IN SELECT host FROM tenantry.tenant_domains
              WHERE tenant_id = p_tenant AND released_at IS NOT NULL ORDER BY position LOOP
      v_taken := false;
      SELECT tenant_id INTO v_holder FROM tenantry.tenant_domains WHERE host = d.host AND released_at IS NULL;
      IF NOT FOUND THEN
        BEGIN
          UPDATE tenantry.tenant_domains SET released_at = NULL, taken_at = now()
           WHERE tenant_id = p_tenant AND host = d.host;
          v_taken := true;
        EXCEPTION WHEN unique_violation THEN
          -- Taken by another tenant meanwhile (the unique index on held hosts, control migration 0019).
          SELECT tenant_id INTO v_holder FROM tenantry.tenant_domains WHERE host = d.host AND released_at IS NULL;
        END;
      END IF;
      IF NOT v_taken THEN
        DELETE FROM tenantry.tenant_domains WHERE tenant_id = p_tenant AND host = d.host;
        v_lost := v_lost || jsonb_build_array(jsonb_build_object('host', d.host, 'heldBy', v_holder));
      END IF;
    END LOOP;
    PERFORM tenantry.audit(p_tenant, 'restore.started', p_actor, p_execution,
      jsonb_build_object('manifest', t.backup_manifest)
        || CASE WHEN v_lost = '[]'::jsonb THEN '{}'::jsonb ELSE jsonb_build_object('unavailableDomains', v_lost) END);
  ELSE
    SELECT coalesce(a.detail->'unavailableDomains', '[]'::jsonb) INTO v_lost FROM tenantry.audit_log a
     WHERE a.tenant_id = p_tenant AND a.execution_id = p_execution AND a.action = 'restore.started'
     ORDER BY a.id DESC LIMIT 1;
    v_lost := coalesce(v_lost, '[]'::jsonb);
  END IF;
  RETURN jsonb_build_object('displayName', t.display_name, 'schemaName', t.schema_name, 'blueprint', t.blueprint,
                            'blueprintVersion', t.blueprint_version, 'manifest', t.backup_manifest,
                            'domains', (SELECT coalesce(jsonb_agg(host ORDER BY position), '[]'::jsonb)
                                          FROM tenantry.tenant_domains WHERE tenant_id = p_tenant AND released_at IS NULL),
                            'unavailableDomains', v_lost, 'login', t.login);
END
$$;
