CREATE TABLE tenantry.deletion_schedules (
  schedule_name  text PRIMARY KEY,
  tenant_id      text NOT NULL,
  due_at         timestamptz NOT NULL,
  input          jsonb NOT NULL,
  status         text NOT NULL CHECK (status IN ('scheduled', 'fired', 'cancelled')),
  execution_id   text,
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX deletion_schedules_one_live_per_tenant ON tenantry.deletion_schedules (tenant_id) WHERE status = 'scheduled';
CREATE INDEX deletion_schedules_due_idx ON tenantry.deletion_schedules (due_at) WHERE status = 'scheduled';
