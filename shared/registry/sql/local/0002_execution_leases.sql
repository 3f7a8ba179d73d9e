-- Execution leases for the local engine (on AWS, Step Functions keeps its executions alive itself).
-- Every RUNNING execution the local engine runs holds a lease that its process renews on a timer; a
-- run whose lease expired is found by a sweep (local/recovery.ts), which claims the lease and
-- finishes the run as Step Functions would: with the workflow's Cleanup. IF NOT EXISTS because
-- databases set up before this set was split out (control migration 8) already have the table.
CREATE TABLE IF NOT EXISTS tenantry.execution_leases (
  execution_id  text PRIMARY KEY REFERENCES tenantry.executions (execution_id) ON DELETE CASCADE,
  owner         text NOT NULL,
  expires_at    timestamptz NOT NULL,
  renewed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE tenantry.execution_leases IS 'One row per RUNNING local execution: who runs it, and until when without a renewal.';
CREATE INDEX IF NOT EXISTS execution_leases_expiry_idx ON tenantry.execution_leases (expires_at);

-- Runs started before this migration have no lease: they count as expired (their process, which
-- could not renew one, is an older build and gone or about to be).
