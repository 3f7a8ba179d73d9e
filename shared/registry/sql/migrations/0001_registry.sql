CREATE TABLE tenantry.tenants (
  tenant_id          text PRIMARY KEY,
  display_name       text NOT NULL,
  schema_name        text NOT NULL UNIQUE,
  status             text NOT NULL CHECK (status IN ('provisioning', 'active', 'failed', 'cancelled', 'disabled',
                       'scheduled_for_deletion', 'deprovisioning', 'deprovisioned')),
  blueprint          text NOT NULL,
  blueprint_version  integer NOT NULL,
  requested_by       text NOT NULL,
  execution_id       text NOT NULL,
  schema_created_by  text,
  failed_step        text,
  last_error         jsonb,
  warnings           jsonb NOT NULL DEFAULT '[]'::jsonb,
  summary            jsonb,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  provisioned_at     timestamptz
);
COMMENT ON COLUMN tenantry.tenants.execution_id IS 'The execution that last changed the tenant; while status is provisioning, the only one allowed to.';
COMMENT ON COLUMN tenantry.tenants.schema_created_by IS 'The execution that created the schema, if one did: only that execution''s Cleanup may drop it.';
CREATE INDEX tenants_status_idx ON tenantry.tenants (status, tenant_id);

CREATE TABLE tenantry.audit_log (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     text NOT NULL,
  action        text NOT NULL,
  actor         text NOT NULL,
  execution_id  text,
  detail        jsonb NOT NULL DEFAULT '{}'::jsonb,
  at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_log_tenant_idx ON tenantry.audit_log (tenant_id, id);

CREATE FUNCTION tenantry.forbid_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'tenantry.audit_log is append-only' USING ERRCODE = 'TY900';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON tenantry.audit_log
  FOR EACH ROW EXECUTE FUNCTION tenantry.forbid_audit_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON tenantry.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION tenantry.forbid_audit_change();

-- The local engine's execution store is not here: only the local engine applies it (sql/local/).
