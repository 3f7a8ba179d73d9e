-- Executions stopped from outside (the API's cancel). A stopped execution may never claim a tenant:
-- on AWS a Validate already in flight when StopExecution lands still runs to its end, and could
-- otherwise claim the tenant after the cancel's cleanup and leave it 'provisioning' for good.
CREATE TABLE tenantry.stopped_executions (
  execution_id  text PRIMARY KEY,
  tenant_id     text NOT NULL,
  stopped_by    text NOT NULL,
  at            timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION tenantry.refuse_stopped_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'provisioning' AND EXISTS (
       SELECT 1 FROM tenantry.stopped_executions WHERE execution_id = NEW.execution_id) THEN
    RAISE EXCEPTION 'tenant % cannot be claimed by execution %: it was stopped', NEW.tenant_id, NEW.execution_id
      USING ERRCODE = 'TY001', DETAIL = NEW.execution_id;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER tenants_refuse_stopped_claim BEFORE INSERT OR UPDATE OF status, execution_id ON tenantry.tenants
  FOR EACH ROW EXECUTE FUNCTION tenantry.refuse_stopped_claim();
