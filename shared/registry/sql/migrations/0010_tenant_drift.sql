-- Drift: what the last `verify` found in the tenant's schema against its blueprint version's lock
-- (NULL: none found, or never verified), and when that verify ran. record_drift writes both.
ALTER TABLE tenantry.tenants ADD COLUMN IF NOT EXISTS drift jsonb;
ALTER TABLE tenantry.tenants ADD COLUMN IF NOT EXISTS drift_checked_at timestamptz;
CREATE INDEX IF NOT EXISTS tenants_drifted_idx ON tenantry.tenants (tenant_id) WHERE drift IS NOT NULL;
