-- tenantry_reader: the database role the read-only API routes act as (on a Postgres server, the
-- local server's connections for those routes take it; shared/api/route-table.ts marks them). It
-- may read the control schema and nothing else: no write, no tenant schema. Roles are cluster-wide;
-- every Tenantry database on the cluster grants it the same read. NOLOGIN: the login role takes it
-- (`role` at connection start), so the login role is made a member of it where it may be. A login
-- that may neither create the role nor join it gets no reader: the local server then says so and
-- serves those routes as itself.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantry_reader') THEN
    BEGIN
      CREATE ROLE tenantry_reader NOLOGIN;
    EXCEPTION
      -- Another database of the cluster made it at the same moment.
      WHEN duplicate_object OR unique_violation THEN NULL;
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'tenantry: % may not create roles: no tenantry_reader role', current_user;
        RETURN;
    END;
  END IF;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, 'tenantry_reader', 'MEMBER') THEN
    BEGIN
      IF current_setting('server_version_num')::integer >= 160000 THEN
        EXECUTE 'GRANT tenantry_reader TO CURRENT_USER WITH INHERIT FALSE, SET TRUE';
      ELSE
        EXECUTE 'GRANT tenantry_reader TO CURRENT_USER';
      END IF;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'tenantry: % may not join tenantry_reader', current_user;
    END;
  END IF;
  -- The schema's owner may grant its read to any role.
  GRANT USAGE ON SCHEMA tenantry TO tenantry_reader;
  GRANT SELECT ON ALL TABLES IN SCHEMA tenantry TO tenantry_reader;
  ALTER DEFAULT PRIVILEGES IN SCHEMA tenantry GRANT SELECT ON TABLES TO tenantry_reader;
END
$$;
