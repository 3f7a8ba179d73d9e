-- Tenant domains (shared/domains.ts): the hosts an application maps to a tenant (GET /resolve,
-- shared/registry/resolve.ts), set at provisioning (claim_tenant) or by PUT /tenants/{id}/domains
-- (set_domains), both through take_domains.sql. A row is held while released_at is null. The
-- partial unique index makes a held host one tenant's whatever races: of two transactions taking
-- one host, the second waits for the first and then fails on the index (TY010 from take_domains).
-- Hosts are stored normalised, lowercase by the CHECK, so that uniqueness is case-insensitive and
-- a lookup is an exact match on the index. Deprovisioning (finalize_deprovision) releases a
-- tenant's hosts: another tenant may take them, GET /resolve answers 410 for a released host no
-- one holds, and a restore (claim_restore) takes back those still free and forgets the others.
CREATE TABLE tenantry.tenant_domains (
  tenant_id    text NOT NULL REFERENCES tenantry.tenants (tenant_id) ON DELETE CASCADE,
  host         text NOT NULL CHECK (
                 octet_length(host) <= 253
                 AND host ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  -- The host's place in the list the tenant was given (0 first).
  position     smallint NOT NULL CHECK (position >= 0),
  taken_at     timestamptz NOT NULL DEFAULT now(),
  released_at  timestamptz,
  PRIMARY KEY (tenant_id, host)
);
CREATE UNIQUE INDEX tenant_domains_held_key ON tenantry.tenant_domains (host) WHERE released_at IS NULL;
-- GET /resolve?host=: the holder, else the tenant that released the host last; one index probe.
CREATE INDEX tenant_domains_host_idx ON tenantry.tenant_domains (host, released_at DESC NULLS FIRST);
