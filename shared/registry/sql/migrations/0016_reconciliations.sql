-- What the reconciler (shared/reconcile/) found, and what it repaired, each time it ran: read by
-- GET /reconciliation and `tenantry reconcile`.
CREATE TABLE tenantry.reconciliations (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  repair       boolean NOT NULL,
  actor        text NOT NULL,
  -- {kind: n} of the findings.
  counts       jsonb NOT NULL,
  -- [{kind, tenantId?, schema?, executionId?, detail, repaired?}]
  findings     jsonb NOT NULL
);
