-- The audit trail is read (GET /audit, GET /tenants/{id}/audit, tenantry audit): newest first,
-- filtered by action. The tenant's own reads use audit_log_tenant_idx (0001).
CREATE INDEX audit_log_action_idx ON tenantry.audit_log (action, id);
