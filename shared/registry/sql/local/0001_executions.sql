-- The local engine's execution store (on AWS, Step Functions keeps executions and their history).
-- Only the local engine applies this set (ensureLocalStore); IF NOT EXISTS because databases set up
-- before it was split out (control migration 1, before the SQL files) already have these tables.
CREATE TABLE IF NOT EXISTS tenantry.executions (
  execution_id  text PRIMARY KEY,
  name          text NOT NULL,
  workflow      text NOT NULL,
  tenant_id     text NOT NULL,
  status        text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED')),
  input         jsonb NOT NULL,
  output        jsonb,
  error         text,
  cause         text,
  started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  stopped_at    timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS executions_one_running_per_tenant ON tenantry.executions (tenant_id, workflow) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS executions_tenant_idx ON tenantry.executions (tenant_id, started_at DESC);

CREATE TABLE IF NOT EXISTS tenantry.execution_events (
  execution_id  text NOT NULL REFERENCES tenantry.executions (execution_id) ON DELETE CASCADE,
  id            integer NOT NULL,
  event         jsonb NOT NULL,
  PRIMARY KEY (execution_id, id)
);
