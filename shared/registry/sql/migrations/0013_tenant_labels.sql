-- Tenant labels (shared/labels.ts): key/value pairs set at provisioning or by PUT
-- /tenants/{id}/labels, which a rollout's selector matches (`labels @> {...}`, by the GIN index).
ALTER TABLE tenantry.tenants
  ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object');
CREATE INDEX tenants_labels_idx ON tenantry.tenants USING gin (labels jsonb_path_ops);
