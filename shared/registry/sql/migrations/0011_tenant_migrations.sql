-- Migrate: one row per Migrate execution of a tenant, from its claim to its end: the versions it
-- moves between, what it applied, and how it ended (a failed one leaves the tenant on from_version,
-- active, with the error here and on the tenant). A rollout's record of its tenants reads these.
CREATE TABLE tenantry.tenant_migrations (
  execution_id   text PRIMARY KEY,
  tenant_id      text NOT NULL,
  blueprint      text NOT NULL,
  from_version   integer NOT NULL,
  to_version     integer NOT NULL,
  status         text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  applied        integer[] NOT NULL DEFAULT '{}',
  failed_step    text,
  error          jsonb,
  requested_by   text NOT NULL,
  rollout_id     text,
  started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at    timestamptz
);
CREATE INDEX tenant_migrations_tenant_idx ON tenantry.tenant_migrations (tenant_id, started_at);
CREATE INDEX tenant_migrations_rollout_idx ON tenantry.tenant_migrations (rollout_id, tenant_id) WHERE rollout_id IS NOT NULL;

-- A stopped Migrate may not claim a tenant either (see 0004_stopped_executions.sql).
CREATE OR REPLACE FUNCTION tenantry.refuse_stopped_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IN ('provisioning', 'migrating') AND EXISTS (
       SELECT 1 FROM tenantry.stopped_executions WHERE execution_id = NEW.execution_id) THEN
    RAISE EXCEPTION 'tenant % cannot be claimed by execution %: it was stopped', NEW.tenant_id, NEW.execution_id
      USING ERRCODE = 'TY001', DETAIL = NEW.execution_id;
  END IF;
  RETURN NEW;
END
$$;
