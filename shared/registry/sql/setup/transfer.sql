-- Hands schemas the master made to the owner login (registry/database-users.ts): a cluster set up
-- before the owner existed has the control schema and the tenant schemas owned by the master, and
-- the owner must be able to alter and drop them. Run by the deploy-time setup as the master, in
-- batches of schemas. Idempotent: only what the current user owns moves.
--
-- Inputs (transaction-local settings): tenantry.setup_owner, tenantry.setup_schemas (a JSON array of
-- schema names; a name with no schema is skipped). Output: tenantry.setup_report, JSON
-- {"moved": <objects whose owner changed, schemas included>}.
--
-- Each schema, then every object in it the current user owns: tables (with their indexes, triggers,
-- rules and owned sequences), views, materialized views, foreign tables, free-standing sequences,
-- composite, enum and range (and multirange) types, domains, routines, collations, conversions, operators, operator
-- classes and families, text search dictionaries and configurations, statistics objects. Objects of
-- other roles (a tenant's role, which owns its declared SECURITY DEFINER routines) stay theirs.
DO $transfer$
DECLARE
  v_owner text := current_setting('tenantry.setup_owner');
  v_me oid := (SELECT oid FROM pg_roles WHERE rolname = current_user);
  v_schema text;
  v_nsp oid;
  v_moved integer := 0;
  r record;
BEGIN
  -- Names print schema-qualified (regprocedure, regoperator) whatever the caller's search_path.
  PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
  FOR v_schema IN SELECT jsonb_array_elements_text(current_setting('tenantry.setup_schemas')::jsonb) LOOP
    SELECT oid INTO v_nsp FROM pg_namespace WHERE nspname = v_schema;
    CONTINUE WHEN v_nsp IS NULL;
    -- The schema first: the new owner needs CREATE on it to take its objects.
    IF (SELECT nspowner FROM pg_namespace WHERE oid = v_nsp) = v_me THEN
      EXECUTE format('ALTER SCHEMA %I OWNER TO %I', v_schema, v_owner);
      v_moved := v_moved + 1;
    END IF;
    FOR r IN
      SELECT o.kind, o.name FROM (
        SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                              WHEN 'S' THEN 'SEQUENCE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END AS kind,
               format('%I.%I', v_schema, c.relname) AS name, c.relowner AS owner
          FROM pg_class c
         WHERE c.relnamespace = v_nsp AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
           -- A serial or identity column's sequence goes with its table.
           AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
        UNION ALL
        SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
               p.oid::regprocedure::text, p.proowner
          FROM pg_proc p WHERE p.pronamespace = v_nsp
        UNION ALL
        -- Enum, range and domain types; composite types are in pg_class, array types go with their element.
        SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, format('%I.%I', v_schema, t.typname), t.typowner
          FROM pg_type t
         WHERE t.typnamespace = v_nsp AND t.typtype IN ('d', 'e', 'r')
        UNION ALL
        SELECT 'COLLATION', format('%I.%I', v_schema, collname), collowner FROM pg_collation WHERE collnamespace = v_nsp
        UNION ALL
        SELECT 'CONVERSION', format('%I.%I', v_schema, conname), conowner FROM pg_conversion WHERE connamespace = v_nsp
        UNION ALL
        SELECT 'OPERATOR', o.oid::regoperator::text, o.oprowner FROM pg_operator o WHERE o.oprnamespace = v_nsp
        UNION ALL
        SELECT 'OPERATOR CLASS', format('%I.%I USING %I', v_schema, c.opcname, a.amname), c.opcowner
          FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod WHERE c.opcnamespace = v_nsp
        UNION ALL
        SELECT 'OPERATOR FAMILY', format('%I.%I USING %I', v_schema, f.opfname, a.amname), f.opfowner
          FROM pg_opfamily f JOIN pg_am a ON a.oid = f.opfmethod WHERE f.opfnamespace = v_nsp
        UNION ALL
        SELECT 'TEXT SEARCH DICTIONARY', format('%I.%I', v_schema, dictname), dictowner FROM pg_ts_dict WHERE dictnamespace = v_nsp
        UNION ALL
        SELECT 'TEXT SEARCH CONFIGURATION', format('%I.%I', v_schema, cfgname), cfgowner FROM pg_ts_config WHERE cfgnamespace = v_nsp
        UNION ALL
        SELECT 'STATISTICS', format('%I.%I', v_schema, stxname), stxowner FROM pg_statistic_ext WHERE stxnamespace = v_nsp
      ) o
      WHERE o.owner = v_me
      ORDER BY o.kind, o.name
    LOOP
      EXECUTE format('ALTER %s %s OWNER TO %I', r.kind, r.name, v_owner);
      v_moved := v_moved + 1;
    END LOOP;
    -- A range type's multirange: newer releases move it with its range, older ones leave it.
    FOR r IN SELECT format('%I.%I', v_schema, t.typname) AS name FROM pg_type t
              WHERE t.typnamespace = v_nsp AND t.typtype = 'm' AND t.typowner = v_me
    LOOP
      EXECUTE format('ALTER TYPE %s OWNER TO %I', r.name, v_owner);
      v_moved := v_moved + 1;
    END LOOP;
  END LOOP;
  PERFORM set_config('tenantry.setup_report', jsonb_build_object('moved', v_moved)::text, true);
END
$transfer$;
