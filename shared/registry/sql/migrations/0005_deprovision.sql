ALTER TABLE tenantry.tenants
  ADD COLUMN previous_status text,
  ADD COLUMN deletion_due_at timestamptz,
  ADD COLUMN deprovision_options jsonb,
  ADD COLUMN backup_location text,
  ADD COLUMN backup_manifest text,
  ADD COLUMN deprovisioned_at timestamptz;
COMMENT ON COLUMN tenantry.tenants.backup_manifest IS 'The blob key of the last backup''s manifest (restore reads it).';
COMMENT ON COLUMN tenantry.tenants.previous_status IS 'The status to return to if a deprovisioning fails before the drop.';

-- The tenant's own audit rows, kept after its schema is dropped (preserveAuditLogs).
CREATE TABLE tenantry.archived_audit_rows (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     text NOT NULL,
  source_table  text NOT NULL,
  row_data      jsonb NOT NULL,
  row_hash      text NOT NULL,
  execution_id  text NOT NULL,
  archived_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (tenant_id, source_table, row_hash)
);
CREATE TRIGGER archived_audit_rows_append_only BEFORE UPDATE OR DELETE ON tenantry.archived_audit_rows
  FOR EACH ROW EXECUTE FUNCTION tenantry.forbid_change();

-- Events for apps when no EventBridge bus is configured (the local engine).
CREATE TABLE tenantry.outbox_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_key   text NOT NULL UNIQUE,
  source      text NOT NULL,
  type        text NOT NULL,
  detail      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
