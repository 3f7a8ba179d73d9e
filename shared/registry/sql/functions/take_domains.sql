-- The hosts a tenant holds from now on (p_hosts: a JSON array of normalised hosts, shared/domains.ts),
-- in the order given; any other it held or had released is let go. A host another tenant holds
-- is refused with TY010, its DETAIL the request's field naming it (`domains.<i>`): checked first,
-- for a message that names the holder, and guaranteed by the unique index on held hosts (control
-- migration 0019) against a transaction taking it at the same time, which this one waits for and
-- then fails on. Returns {domains, previous}: what it holds now and what it held before.
CREATE OR REPLACE FUNCTION tenantry.take_domains(p_tenant text, p_hosts jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_hosts text[] := ARRAY(SELECT jsonb_array_elements_text(coalesce(p_hosts, '[]'::jsonb)));
  v_previous jsonb;
  v_host text;
  v_holder text;
BEGIN
  SELECT coalesce(jsonb_agg(host ORDER BY position), '[]'::jsonb) INTO v_previous
    FROM tenantry.tenant_domains WHERE tenant_id = p_tenant AND released_at IS NULL;
  FOR pass IN 1..2 LOOP
    SELECT d.host, d.tenant_id INTO v_host, v_holder FROM tenantry.tenant_domains d
     WHERE d.host = ANY (v_hosts) AND d.released_at IS NULL AND d.tenant_id <> p_tenant
     ORDER BY array_position(v_hosts, d.host) LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'domain % is held by tenant %', v_host, v_holder
        USING ERRCODE = 'TY010', DETAIL = 'domains.' || (array_position(v_hosts, v_host) - 1);
    END IF;
    EXIT WHEN pass = 2;
    BEGIN
      DELETE FROM tenantry.tenant_domains
       WHERE tenant_id = p_tenant AND NOT (host = ANY (v_hosts) AND released_at IS NULL);
      INSERT INTO tenantry.tenant_domains (tenant_id, host, position)
      SELECT p_tenant, u.host, u.n - 1 FROM unnest(v_hosts) WITH ORDINALITY AS u(host, n)
      ON CONFLICT (tenant_id, host) DO UPDATE SET position = EXCLUDED.position;
      RETURN jsonb_build_object('domains', to_jsonb(v_hosts), 'previous', v_previous);
    EXCEPTION WHEN unique_violation THEN
      -- Another tenant took one of them since the check, and committed while this waited on it:
      -- the check again (a new snapshot) names it.
      NULL;
    END;
  END LOOP;
  RAISE EXCEPTION 'a domain of % was taken by another tenant meanwhile', array_to_string(v_hosts, ', ')
    USING ERRCODE = 'TY010', DETAIL = 'domains';
END
$$;
