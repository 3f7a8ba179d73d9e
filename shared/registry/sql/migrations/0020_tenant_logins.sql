-- A login of its own per tenant, when asked for (README "Tenant access"): the request's or its
-- template's `login`. The login is a LOGIN role (functions/tenant_login.sql, create_tenant_login.sql),
-- a member of the tenant's role and of nothing else; its password is in a secret of its own (Secrets
-- Manager on AWS, a file locally), never in the database, the workflow or the audit trail.
--
-- login: the tenant has a login, or is to have one: set when it is claimed (claim_tenant), kept
-- through a deprovisioning, so that a restore makes it a new one (claim_restore).
-- login_role, login_secret: the login's role and where its secret is (an ARN, or a file's path),
-- while it exists: set by CreateLogin, cleared when it is dropped (DropSchema, a failed run's Cleanup).
ALTER TABLE tenantry.tenants
  ADD COLUMN login boolean NOT NULL DEFAULT false,
  ADD COLUMN login_role text,
  ADD COLUMN login_secret text;
COMMENT ON COLUMN tenantry.tenants.login IS 'Whether the tenant has a login of its own (LOGIN role, password in a secret): made by Provision, made again by Restore.';
COMMENT ON COLUMN tenantry.tenants.login_role IS 'The tenant''s login role while it exists (tenantry.tenant_login(schema_name)).';
COMMENT ON COLUMN tenantry.tenants.login_secret IS 'Where the login''s password is: a Secrets Manager ARN, or a local file''s path. Never the password.';
