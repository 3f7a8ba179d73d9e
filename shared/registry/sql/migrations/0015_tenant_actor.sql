-- Who asked for a tenant's provisioning, as the API authenticated them (the IAM principal on AWS;
-- the OS user locally): the actor of its audit entries. requested_by stays the request's own note.
ALTER TABLE tenantry.tenants ADD COLUMN actor text;
