-- Rollouts: a blueprint version taken to a fleet of tenants in waves, canary first. One row per
-- rollout, one per tenant it selected (its wave, how its migration went, or why it was skipped),
-- readable while it runs. Pause and cancel are requests the Rollout workflow honours: pause before
-- the next wave, cancel before the next tenant (claim_migration refuses a tenant of a cancelled
-- rollout, so none is left half-migrated: each migration is one transaction).
CREATE TABLE tenantry.rollouts (
  rollout_id        text PRIMARY KEY,
  blueprint         text NOT NULL,
  target_version    integer NOT NULL,
  request           jsonb NOT NULL,
  -- Each wave's tolerance: [{wave, toleratedFailureCount, toleratedFailurePercentage?}].
  waves             jsonb NOT NULL,
  status            text NOT NULL CHECK (status IN ('running', 'paused', 'halted', 'cancelled', 'succeeded', 'failed')),
  halt_reason       text,
  pause_requested   boolean NOT NULL DEFAULT false,
  cancel_requested  boolean NOT NULL DEFAULT false,
  execution_id      text,
  requested_by      text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at       timestamptz
);
CREATE INDEX rollouts_created_idx ON tenantry.rollouts (created_at DESC, rollout_id);

CREATE TABLE tenantry.rollout_tenants (
  rollout_id    text NOT NULL REFERENCES tenantry.rollouts (rollout_id),
  tenant_id     text NOT NULL,
  wave          integer NOT NULL,
  status        text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
  from_version  integer NOT NULL,
  to_version    integer NOT NULL,
  -- The Migrate execution's name; `attempts` of them so far (a resumed rollout retries the failed).
  execution_id  text,
  attempts      integer NOT NULL DEFAULT 0,
  error         jsonb,
  reason        text,
  started_at    timestamptz,
  finished_at   timestamptz,
  PRIMARY KEY (rollout_id, tenant_id)
);
CREATE INDEX rollout_tenants_wave_idx ON tenantry.rollout_tenants (rollout_id, wave, status);
