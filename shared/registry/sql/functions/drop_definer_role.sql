-- Drops a tenant schema's definer role (definer_role.sql), if it has one: called after the schema is
-- dropped (DropSchema, Cleanup), so the role owns nothing any more; DROP OWNED clears anything left
-- in this database. Idempotent. The lock's scratch role goes with the lock's rolled-back transaction.
CREATE OR REPLACE FUNCTION tenantry.drop_definer_role(p_schema text)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_role text := tenantry.definer_role(p_schema);
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role) THEN
    RETURN false;
  END IF;
  EXECUTE format('DROP OWNED BY %I', v_role);
  EXECUTE format('DROP ROLE %I', v_role);
  RETURN true;
END
$$;
