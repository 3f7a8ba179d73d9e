-- What the local engine counts of the metrics its handlers emit (shared/observability/catalog.ts),
-- so that `GET /stats` and `tenantry stats` show them across processes (on AWS they are CloudWatch
-- metrics instead). One row per metric and dimension set: how many data points, and their sum.
CREATE TABLE IF NOT EXISTS tenantry.metric_counts (
  name        text NOT NULL,
  dimensions  jsonb NOT NULL,
  unit        text NOT NULL,
  points      bigint NOT NULL DEFAULT 0,
  total       double precision NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (name, dimensions)
);
COMMENT ON TABLE tenantry.metric_counts IS 'Local engine only: the metrics its handlers emitted, counted per name and dimensions.';
