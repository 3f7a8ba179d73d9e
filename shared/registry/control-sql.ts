/**
 * The control schema `tenantry`, as ordered migrations. Besides the registry and the audit trail
 * it holds one PL/pgSQL function per provisioning step: each step is then ONE statement, atomic on
 * its own and one round trip on every backend (one HTTPS call through the RDS Data API).
 *
 * Errors the functions raise carry Tenantry SQLSTATEs (class TY), mapped to typed errors in
 * registry/errors.ts:
 *   TY001 another execution owns the tenant   TY002 applied migration changed or missing
 *   TY003 tenant exists / not provisionable   TY004 schema name taken by another tenant
 *   TY005 no such template version            TY006 no such tenant
 *   TY007 tenant in the wrong state for this   TY008 tenant already scheduled for deletion
 *   TY900 write to an append-only or immutable table
 * Never edit an entry once released: add a new one.
 */
import { quoteLiteral } from '../identifiers';
import { DEFAULT_TEMPLATES } from '../templates/defaults';
import { TemplateDefinitionSchema, templateIdFor } from '../templates/schema';
import { LEASES_SQL } from './migrations/leases';
import { RESTORE_SQL } from './migrations/restore';
import { SCHEDULES_SQL } from './migrations/schedules';
import { SEED_ROWS_SQL } from './migrations/seed-rows';

export interface ControlMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const REGISTRY = `
CREATE TABLE tenantry.tenants (
  tenant_id          text PRIMARY KEY,
  display_name       text NOT NULL,
  schema_name        text NOT NULL UNIQUE,
  status             text NOT NULL CHECK (status IN ('provisioning', 'active', 'failed', 'cancelled', 'disabled',
                       'scheduled_for_deletion', 'deprovisioning', 'deprovisioned')),
  blueprint          text NOT NULL,
  blueprint_version  integer NOT NULL,
  requested_by       text NOT NULL,
  execution_id       text NOT NULL,
  schema_created_by  text,
  failed_step        text,
  last_error         jsonb,
  warnings           jsonb NOT NULL DEFAULT '[]'::jsonb,
  summary            jsonb,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  provisioned_at     timestamptz
);
COMMENT ON COLUMN tenantry.tenants.execution_id IS 'The execution that last changed the tenant; while status is provisioning, the only one allowed to.';
COMMENT ON COLUMN tenantry.tenants.schema_created_by IS 'The execution that created the schema, if one did: only that execution''s Cleanup may drop it.';
CREATE INDEX tenants_status_idx ON tenantry.tenants (status, tenant_id);

CREATE TABLE tenantry.audit_log (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     text NOT NULL,
  action        text NOT NULL,
  actor         text NOT NULL,
  execution_id  text,
  detail        jsonb NOT NULL DEFAULT '{}'::jsonb,
  at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_log_tenant_idx ON tenantry.audit_log (tenant_id, id);

CREATE FUNCTION tenantry.forbid_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'tenantry.audit_log is append-only' USING ERRCODE = 'TY900';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON tenantry.audit_log
  FOR EACH ROW EXECUTE FUNCTION tenantry.forbid_audit_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON tenantry.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION tenantry.forbid_audit_change();

CREATE FUNCTION tenantry.audit(p_tenant text, p_action text, p_actor text, p_execution text, p_detail jsonb)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO tenantry.audit_log (tenant_id, action, actor, execution_id, detail)
  VALUES (p_tenant, p_action, coalesce(p_actor, 'unknown'), p_execution, coalesce(p_detail, '{}'::jsonb));
$$;

-- The local engine's execution store (on AWS, Step Functions keeps executions and their history).
CREATE TABLE tenantry.executions (
  execution_id  text PRIMARY KEY,
  name          text NOT NULL,
  workflow      text NOT NULL,
  tenant_id     text NOT NULL,
  status        text NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED')),
  input         jsonb NOT NULL,
  output        jsonb,
  error         text,
  cause         text,
  started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  stopped_at    timestamptz
);
CREATE UNIQUE INDEX executions_one_running_per_tenant ON tenantry.executions (tenant_id, workflow) WHERE status = 'RUNNING';
CREATE INDEX executions_tenant_idx ON tenantry.executions (tenant_id, started_at DESC);

CREATE TABLE tenantry.execution_events (
  execution_id  text NOT NULL REFERENCES tenantry.executions (execution_id) ON DELETE CASCADE,
  id            integer NOT NULL,
  event         jsonb NOT NULL,
  PRIMARY KEY (execution_id, id)
);
`;

const STEP_FUNCTIONS = `
-- The tenant row, locked, if p_execution owns it in one of the given statuses; else TY001.
CREATE FUNCTION tenantry.own_tenant(p_tenant text, p_execution text, p_statuses text[] DEFAULT ARRAY['provisioning'])
RETURNS tenantry.tenants LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'tenant % is not claimed by execution %', p_tenant, p_execution
      USING ERRCODE = 'TY001', DETAIL = '';
  END IF;
  IF t.execution_id IS DISTINCT FROM p_execution OR NOT (t.status = ANY (p_statuses)) THEN
    RAISE EXCEPTION 'tenant % is held by execution % (status %)', p_tenant, t.execution_id, t.status
      USING ERRCODE = 'TY001', DETAIL = t.execution_id;
  END IF;
  RETURN t;
END
$$;

-- Validate: claim the tenant for this execution (the per-tenant lock), or say why not.
CREATE FUNCTION tenantry.claim_tenant(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenantId';
  v_exec text := p->>'executionId';
  v_other text;
  t tenantry.tenants;
BEGIN
  SELECT tenant_id INTO v_other FROM tenantry.tenants
   WHERE schema_name = p->>'schemaName' AND tenant_id <> v_tenant;
  IF FOUND THEN
    RAISE EXCEPTION 'schema % is already used by tenant %', p->>'schemaName', v_other USING ERRCODE = 'TY004';
  END IF;
  BEGIN
    INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version,
                                  requested_by, execution_id)
    VALUES (v_tenant, p->>'displayName', p->>'schemaName', 'provisioning', p->>'blueprint',
            (p->>'blueprintVersion')::integer, p->>'requestedBy', v_exec)
    ON CONFLICT (tenant_id) DO NOTHING;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'schema % is already used by another tenant', p->>'schemaName' USING ERRCODE = 'TY004';
  END;
  IF FOUND THEN
    PERFORM tenantry.audit(v_tenant, 'provision.started', p->>'requestedBy', v_exec,
      jsonb_build_object('blueprint', p->>'blueprint', 'blueprintVersion', (p->>'blueprintVersion')::integer));
    RETURN jsonb_build_object('claimed', true, 'previousStatus', NULL);
  END IF;

  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = v_tenant FOR UPDATE;
  IF t.execution_id = v_exec AND t.status = 'provisioning' THEN
    RETURN jsonb_build_object('claimed', true, 'previousStatus', 'provisioning');
  END IF;
  IF t.status IN ('failed', 'cancelled') THEN
    UPDATE tenantry.tenants
       SET status = 'provisioning', execution_id = v_exec, display_name = p->>'displayName',
           blueprint = p->>'blueprint', blueprint_version = (p->>'blueprintVersion')::integer,
           requested_by = p->>'requestedBy', schema_created_by = NULL, failed_step = NULL, last_error = NULL,
           warnings = '[]'::jsonb, summary = NULL, updated_at = now()
     WHERE tenant_id = v_tenant;
    PERFORM tenantry.audit(v_tenant, 'provision.started', p->>'requestedBy', v_exec,
      jsonb_build_object('blueprint', p->>'blueprint', 'previousStatus', t.status,
                         'blueprintVersion', (p->>'blueprintVersion')::integer));
    RETURN jsonb_build_object('claimed', true, 'previousStatus', t.status);
  END IF;
  IF t.status = 'provisioning' THEN
    RAISE EXCEPTION 'tenant % is being provisioned by execution %', v_tenant, t.execution_id
      USING ERRCODE = 'TY001', DETAIL = t.execution_id;
  END IF;
  RAISE EXCEPTION 'tenant % already exists (status %)', v_tenant, t.status USING ERRCODE = 'TY003', DETAIL = t.status;
END
$$;

-- CreateSchema: create it if missing, remembering that this execution did.
CREATE FUNCTION tenantry.create_tenant_schema(p_tenant text, p_execution text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
BEGIN
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    RETURN jsonb_build_object('schema', t.schema_name, 'created', false,
                              'ownedByExecution', t.schema_created_by IS NOT DISTINCT FROM p_execution);
  END IF;
  EXECUTE format('CREATE SCHEMA %I', t.schema_name);
  UPDATE tenantry.tenants SET schema_created_by = p_execution, updated_at = now() WHERE tenant_id = p_tenant;
  RETURN jsonb_build_object('schema', t.schema_name, 'created', true, 'ownedByExecution', true);
END
$$;

-- SyncTables: apply pending migrations in version order, with the tenant schema on search_path,
-- recording each in the tenant's ledger. Refuses a ledger that disagrees with the blueprint.
CREATE FUNCTION tenantry.sync_migrations(p_tenant text, p_execution text, p_migrations jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
  l record;
  m jsonb;
  v_max_applied integer := 0;
  v_applied integer[] := '{}';
  v_done boolean;
BEGIN
  PERFORM set_config('search_path', quote_ident(t.schema_name), true);
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I._tenantry_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(), execution_id text NOT NULL)', t.schema_name);
  FOR l IN EXECUTE format('SELECT version, name, checksum FROM %I._tenantry_migrations ORDER BY version', t.schema_name) LOOP
    SELECT value INTO m FROM jsonb_array_elements(p_migrations) WHERE (value->>'version')::integer = l.version;
    IF m IS NULL THEN
      RAISE EXCEPTION 'migration % (%) is applied in schema % but missing from the blueprint', l.version, l.name, t.schema_name
        USING ERRCODE = 'TY002';
    END IF;
    IF m->>'checksum' <> l.checksum THEN
      RAISE EXCEPTION 'migration % was changed after it was applied to schema %: applied checksum %, blueprint has %',
        m->>'name', t.schema_name, l.checksum, m->>'checksum' USING ERRCODE = 'TY002';
    END IF;
    v_max_applied := greatest(v_max_applied, l.version);
  END LOOP;
  FOR m IN SELECT value FROM jsonb_array_elements(p_migrations) ORDER BY (value->>'version')::integer LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I._tenantry_migrations WHERE version = $1)', t.schema_name)
      INTO v_done USING (m->>'version')::integer;
    CONTINUE WHEN v_done;
    IF (m->>'version')::integer < v_max_applied THEN
      RAISE EXCEPTION 'migration % is new but a later migration (%) is already applied to schema %',
        m->>'name', v_max_applied, t.schema_name USING ERRCODE = 'TY002';
    END IF;
    EXECUTE m->>'sql';
    EXECUTE format('INSERT INTO %I._tenantry_migrations (version, name, checksum, execution_id) VALUES ($1, $2, $3, $4)',
                   t.schema_name)
      USING (m->>'version')::integer, m->>'name', m->>'checksum', p_execution;
    v_applied := v_applied || (m->>'version')::integer;
  END LOOP;
  RETURN jsonb_build_object('applied', to_jsonb(v_applied));
END
$$;

-- CreateIndexes: each index in its own subtransaction; a permanent failure becomes a warning,
-- a transient one (lock, deadlock, cancel) is raised so the workflow retries.
CREATE FUNCTION tenantry.create_indexes(p_tenant text, p_execution text, p_indexes jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
  m jsonb;
  v_created integer := 0;
  v_existing integer := 0;
  v_warnings jsonb := '[]'::jsonb;
BEGIN
  PERFORM set_config('search_path', quote_ident(t.schema_name), true);
  FOR m IN SELECT value FROM jsonb_array_elements(p_indexes) LOOP
    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = t.schema_name AND c.relname = m->>'name') THEN
      v_existing := v_existing + 1;
      CONTINUE;
    END IF;
    BEGIN
      EXECUTE m->>'sql';
      v_created := v_created + 1;
    EXCEPTION
      WHEN lock_not_available OR deadlock_detected OR query_canceled OR serialization_failure THEN RAISE;
      WHEN OTHERS THEN
        v_warnings := v_warnings || jsonb_build_object('index', m->>'name', 'code', SQLSTATE, 'message', SQLERRM);
    END;
  END LOOP;
  RETURN jsonb_build_object('created', v_created, 'existing', v_existing, 'warnings', v_warnings);
END
$$;

-- Seed: insert rows that are not there yet (by any unique key), then move identity/serial
-- sequences past the seeded ids so the application's own inserts do not collide.
CREATE FUNCTION tenantry.seed_tables(p_tenant text, p_execution text, p_tables jsonb, p_statuses text[] DEFAULT ARRAY['provisioning'])
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, p_statuses);
  m jsonb;
  s record;
  v_table text;
  v_cols text;
  v_n bigint;
  v_max bigint;
  v_last bigint;
  v_inserted jsonb := '{}'::jsonb;
BEGIN
  PERFORM set_config('search_path', quote_ident(t.schema_name), true);
  FOR m IN SELECT value FROM jsonb_array_elements(p_tables) LOOP
    v_table := m->>'table';
    SELECT string_agg(quote_ident(k), ', ' ORDER BY k) INTO v_cols
      FROM (SELECT DISTINCT jsonb_object_keys(r) AS k FROM jsonb_array_elements(m->'rows') AS r) keys;
    EXECUTE format('INSERT INTO %I.%I (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%I.%I, $1) ON CONFLICT DO NOTHING',
                   t.schema_name, v_table, v_cols, v_cols, t.schema_name, v_table)
      USING m->'rows';
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_inserted := v_inserted || jsonb_build_object(v_table, coalesce((v_inserted->>v_table)::bigint, 0) + v_n);
    FOR s IN SELECT a.attname, pg_get_serial_sequence(format('%I.%I', t.schema_name, v_table), a.attname) AS seq
               FROM pg_attribute a
              WHERE a.attrelid = format('%I.%I', t.schema_name, v_table)::regclass AND a.attnum > 0 AND NOT a.attisdropped LOOP
      CONTINUE WHEN s.seq IS NULL;
      EXECUTE format('SELECT max(%I)::bigint FROM %I.%I', s.attname, t.schema_name, v_table) INTO v_max;
      EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s', s.seq) INTO v_last;
      IF v_max IS NOT NULL AND v_max > v_last THEN
        PERFORM setval(s.seq::regclass, v_max);
      END IF;
    END LOOP;
  END LOOP;
  RETURN jsonb_build_object('inserted', v_inserted);
END
$$;

-- Register: the tenant is active. Idempotent for the execution that did it.
CREATE FUNCTION tenantry.register_tenant(p_tenant text, p_execution text, p_summary jsonb, p_warnings jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['provisioning', 'active']);
BEGIN
  IF t.status = 'active' THEN
    RETURN jsonb_build_object('status', t.status, 'provisionedAt', t.provisioned_at, 'alreadyRegistered', true);
  END IF;
  UPDATE tenantry.tenants
     SET status = 'active', provisioned_at = now(), updated_at = now(), summary = p_summary,
         warnings = coalesce(p_warnings, '[]'::jsonb), failed_step = NULL, last_error = NULL
   WHERE tenant_id = p_tenant
  RETURNING * INTO t;
  PERFORM tenantry.audit(p_tenant, 'provision.succeeded', t.requested_by, p_execution,
    jsonb_build_object('summary', p_summary, 'warnings', coalesce(p_warnings, '[]'::jsonb)));
  RETURN jsonb_build_object('status', t.status, 'provisionedAt', t.provisioned_at, 'alreadyRegistered', false);
END
$$;

-- Cleanup: undo what this execution made, never more. A schema is dropped only if this
-- execution created it; a tenant this execution does not own is not touched (only audited).
CREATE FUNCTION tenantry.cleanup_tenant(p_tenant text, p_execution text, p_step text, p_error jsonb, p_status text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
  v_dropped boolean := false;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND OR t.execution_id IS DISTINCT FROM p_execution THEN
    PERFORM tenantry.audit(p_tenant, 'provision.rejected', NULL, p_execution,
      jsonb_build_object('step', p_step, 'error', p_error));
    RETURN jsonb_build_object('owned', false, 'droppedSchema', false, 'status', t.status);
  END IF;
  IF t.status <> 'provisioning' THEN
    -- Already cleaned up (a retried Cleanup), or finished: nothing to undo.
    RETURN jsonb_build_object('owned', true, 'droppedSchema', false, 'status', t.status);
  END IF;
  IF t.schema_created_by = p_execution AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    EXECUTE format('DROP SCHEMA %I CASCADE', t.schema_name);
    v_dropped := true;
  END IF;
  UPDATE tenantry.tenants
     SET status = p_status, failed_step = p_step, last_error = p_error, schema_created_by = NULL, updated_at = now()
   WHERE tenant_id = p_tenant;
  PERFORM tenantry.audit(p_tenant, 'provision.' || p_status, t.requested_by, p_execution,
    jsonb_build_object('step', p_step, 'error', p_error, 'droppedSchema', v_dropped));
  RETURN jsonb_build_object('owned', true, 'droppedSchema', v_dropped, 'status', p_status);
END
$$;
`;

/** Version 1 of each default template, as rows. */
function defaultTemplateRows(): string {
  return DEFAULT_TEMPLATES.map((input) => {
    const t = TemplateDefinitionSchema.parse(input);
    const id = quoteLiteral(templateIdFor(t.name));
    return `INSERT INTO tenantry.templates (template_id, name, category, current_version)
  VALUES (${id}, ${quoteLiteral(t.name)}, ${quoteLiteral(t.category)}, 1);
INSERT INTO tenantry.template_versions (template_id, version, definition, created_by)
  VALUES (${id}, 1, ${quoteLiteral(JSON.stringify(t))}::jsonb, 'tenantry');`;
  }).join('\n');
}

const TEMPLATES = `
CREATE TABLE tenantry.templates (
  template_id      text PRIMARY KEY,
  name             text NOT NULL UNIQUE,
  category         text NOT NULL CHECK (category IN ('basic', 'school_district', 'municipality', 'enterprise', 'custom')),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'deleted')),
  current_version  integer NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenantry.template_versions (
  template_id  text NOT NULL REFERENCES tenantry.templates (template_id),
  version      integer NOT NULL CHECK (version > 0),
  definition   jsonb NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (template_id, version)
);

CREATE FUNCTION tenantry.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'rows of tenantry.% are immutable', TG_TABLE_NAME USING ERRCODE = 'TY900';
END
$$;
CREATE TRIGGER template_versions_immutable BEFORE UPDATE OR DELETE ON tenantry.template_versions
  FOR EACH ROW EXECUTE FUNCTION tenantry.forbid_change();

ALTER TABLE tenantry.tenants
  ADD COLUMN template_id text,
  ADD COLUMN template_version integer,
  ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN limits jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD CONSTRAINT tenants_template_fkey FOREIGN KEY (template_id, template_version)
    REFERENCES tenantry.template_versions (template_id, version);
CREATE INDEX tenants_template_idx ON tenantry.tenants (template_id, template_version);

-- Reclaiming a failed tenant also forgets the template settings of the failed run.
CREATE OR REPLACE FUNCTION tenantry.forget_failed_template() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status IN ('failed', 'cancelled') AND NEW.status = 'provisioning' THEN
    NEW.template_id := NULL;
    NEW.template_version := NULL;
    NEW.settings := '{}'::jsonb;
    NEW.limits := '{}'::jsonb;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER tenants_reclaim_resets_template BEFORE UPDATE OF status ON tenantry.tenants
  FOR EACH ROW EXECUTE FUNCTION tenantry.forget_failed_template();

-- ApplySettings: record the template version, its settings and limits on the tenant. Idempotent.
CREATE FUNCTION tenantry.apply_settings(p_tenant text, p_execution text, p_template text, p_version bigint)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution);
  d jsonb;
BEGIN
  SELECT definition INTO d FROM tenantry.template_versions WHERE template_id = p_template AND version = p_version;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'template % version % does not exist', p_template, p_version USING ERRCODE = 'TY005';
  END IF;
  UPDATE tenantry.tenants
     SET template_id = p_template, template_version = p_version, settings = coalesce(d->'settings', '{}'::jsonb),
         limits = coalesce(d->'limits', '{}'::jsonb), updated_at = now()
   WHERE tenant_id = p_tenant;
  RETURN jsonb_build_object('template', p_template, 'version', p_version,
                            'settings', coalesce(d->'settings', '{}'::jsonb), 'limits', coalesce(d->'limits', '{}'::jsonb));
END
$$;
`;

const STOPPED_EXECUTIONS = `
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
`;

const DEPROVISION = `
ALTER TABLE tenantry.tenants
  ADD COLUMN previous_status text,
  ADD COLUMN deletion_due_at timestamptz,
  ADD COLUMN deprovision_options jsonb,
  ADD COLUMN backup_location text,
  ADD COLUMN backup_manifest text,
  ADD COLUMN deprovisioned_at timestamptz;
COMMENT ON COLUMN tenantry.tenants.backup_manifest IS 'The blob key of the last backup''s manifest (restore reads it).';
COMMENT ON COLUMN tenantry.tenants.previous_status IS 'The status to return to if a deprovisioning fails before the drop.';

-- The tenant's own audit rows, kept after its schema is dropped (preserveAuditLogs).
CREATE TABLE tenantry.archived_audit_rows (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id     text NOT NULL,
  source_table  text NOT NULL,
  row_data      jsonb NOT NULL,
  row_hash      text NOT NULL,
  execution_id  text NOT NULL,
  archived_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (tenant_id, source_table, row_hash)
);
CREATE TRIGGER archived_audit_rows_append_only BEFORE UPDATE OR DELETE ON tenantry.archived_audit_rows
  FOR EACH ROW EXECUTE FUNCTION tenantry.forbid_change();

-- Events for apps when no EventBridge bus is configured (the local engine).
CREATE TABLE tenantry.outbox_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_key   text NOT NULL UNIQUE,
  source      text NOT NULL,
  type        text NOT NULL,
  detail      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Validate: claim a tenant that exists and is live, remembering its status to return to on failure.
-- A run a schedule started may only go on while that schedule is live (migration 6); it marks it fired.
CREATE FUNCTION tenantry.begin_deprovision(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_tenant text := p->>'tenantId';
  v_exec text := p->>'executionId';
  v_schedule text := p->>'scheduleName';
  t tenantry.tenants;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = v_tenant FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no tenant %', v_tenant USING ERRCODE = 'TY006';
  END IF;
  IF t.execution_id = v_exec AND t.previous_status IS NOT NULL AND t.status <> 'scheduled_for_deletion' THEN
    RETURN jsonb_build_object('schema', t.schema_name, 'previousStatus', t.previous_status, 'blueprint', t.blueprint,
                              'blueprintVersion', t.blueprint_version, 'templateId', t.template_id,
                              'templateVersion', t.template_version);
  END IF;
  IF v_schedule IS NOT NULL THEN
    UPDATE tenantry.deletion_schedules SET status = 'fired', execution_id = v_exec, updated_at = clock_timestamp()
     WHERE schedule_name = v_schedule AND tenant_id = v_tenant AND (status = 'scheduled' OR execution_id = v_exec);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'the deletion of tenant % scheduled as % was cancelled', v_tenant, v_schedule USING ERRCODE = 'TY007';
    END IF;
  ELSIF t.status = 'scheduled_for_deletion' THEN
    RAISE EXCEPTION 'tenant % is scheduled for deletion at %: cancel that first', v_tenant, t.deletion_due_at
      USING ERRCODE = 'TY008';
  END IF;
  IF t.status = 'provisioning' THEN
    RAISE EXCEPTION 'tenant % is being provisioned by execution %', v_tenant, t.execution_id
      USING ERRCODE = 'TY001', DETAIL = t.execution_id;
  END IF;
  IF t.status NOT IN ('active', 'disabled', 'scheduled_for_deletion') THEN
    RAISE EXCEPTION 'tenant % is % and cannot be deprovisioned', v_tenant, t.status USING ERRCODE = 'TY007', DETAIL = t.status;
  END IF;
  UPDATE tenantry.tenants
     SET execution_id = v_exec,
         previous_status = CASE WHEN t.status = 'scheduled_for_deletion' THEN coalesce(t.previous_status, 'active') ELSE t.status END,
         deprovision_options = p->'options', failed_step = NULL, last_error = NULL, updated_at = now()
   WHERE tenant_id = v_tenant;
  PERFORM tenantry.audit(v_tenant, 'deprovision.started', p->>'requestedBy', v_exec,
    jsonb_build_object('options', p->'options', 'schedule', v_schedule));
  RETURN jsonb_build_object('schema', t.schema_name, 'previousStatus', t.status, 'blueprint', t.blueprint,
                            'blueprintVersion', t.blueprint_version, 'templateId', t.template_id,
                            'templateVersion', t.template_version);
END
$$;

-- Disable: apps must stop resolving the tenant.
CREATE FUNCTION tenantry.disable_tenant(p_tenant text, p_execution text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['active', 'disabled', 'scheduled_for_deletion']);
BEGIN
  IF t.status <> 'disabled' THEN
    UPDATE tenantry.tenants SET status = 'disabled', deletion_due_at = NULL, updated_at = now() WHERE tenant_id = p_tenant;
    PERFORM tenantry.audit(p_tenant, 'tenant.disabled', NULL, p_execution, '{}'::jsonb);
  END IF;
  RETURN jsonb_build_object('status', 'disabled');
END
$$;

-- DropSchema: keep the audit rows if asked (same transaction), then drop. Idempotent.
CREATE FUNCTION tenantry.drop_tenant_schema(p_tenant text, p_execution text, p_audit_tables jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['disabled', 'deprovisioning']);
  v_table text;
  v_n bigint;
  v_archived bigint := 0;
  v_dropped boolean := false;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    FOR v_table IN SELECT jsonb_array_elements_text(coalesce(p_audit_tables, '[]'::jsonb)) LOOP
      CONTINUE WHEN to_regclass(format('%I.%I', t.schema_name, v_table)) IS NULL;
      EXECUTE format(
        'INSERT INTO tenantry.archived_audit_rows (tenant_id, source_table, row_data, row_hash, execution_id)
         SELECT $1, $2, to_jsonb(r), md5(to_jsonb(r)::text), $3 FROM %I.%I r ON CONFLICT DO NOTHING', t.schema_name, v_table)
        USING p_tenant, v_table, p_execution;
      GET DIAGNOSTICS v_n = ROW_COUNT;
      v_archived := v_archived + v_n;
    END LOOP;
    EXECUTE format('DROP SCHEMA %I CASCADE', t.schema_name);
    v_dropped := true;
  END IF;
  UPDATE tenantry.tenants SET status = 'deprovisioning', updated_at = now() WHERE tenant_id = p_tenant;
  PERFORM tenantry.audit(p_tenant, 'tenant.schema_dropped', NULL, p_execution,
    jsonb_build_object('archivedAuditRows', v_archived, 'dropped', v_dropped));
  RETURN jsonb_build_object('dropped', v_dropped, 'archivedAuditRows', v_archived);
END
$$;

-- Finalize: deprovisioned, with where the backup is and its manifest. Idempotent for its execution.
CREATE FUNCTION tenantry.finalize_deprovision(p_tenant text, p_execution text, p_backup text, p_manifest text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants := tenantry.own_tenant(p_tenant, p_execution, ARRAY['deprovisioning', 'deprovisioned']);
BEGIN
  IF t.status = 'deprovisioning' THEN
    UPDATE tenantry.tenants
       SET status = 'deprovisioned', backup_location = p_backup, backup_manifest = p_manifest, deprovisioned_at = now(),
           previous_status = NULL, updated_at = now()
     WHERE tenant_id = p_tenant RETURNING * INTO t;
    PERFORM tenantry.audit(p_tenant, 'deprovision.succeeded', NULL, p_execution,
      jsonb_build_object('backup', p_backup, 'manifest', p_manifest));
  END IF;
  RETURN jsonb_build_object('status', t.status, 'backupLocation', t.backup_location, 'deprovisionedAt', t.deprovisioned_at);
END
$$;

-- Cleanup: before the drop, give the tenant back its status; after it, leave it clearly marked.
CREATE FUNCTION tenantry.deprovision_cleanup(p_tenant text, p_execution text, p_step text, p_error jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t tenantry.tenants;
  v_reenabled boolean := false;
BEGIN
  SELECT * INTO t FROM tenantry.tenants WHERE tenant_id = p_tenant FOR UPDATE;
  IF NOT FOUND OR t.execution_id IS DISTINCT FROM p_execution OR t.previous_status IS NULL THEN
    IF FOUND THEN
      PERFORM tenantry.audit(p_tenant, 'deprovision.rejected', NULL, p_execution, jsonb_build_object('step', p_step, 'error', p_error));
    END IF;
    RETURN jsonb_build_object('owned', false, 'reenabled', false, 'status', t.status);
  END IF;
  IF t.status IN ('active', 'disabled', 'scheduled_for_deletion')
     AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) THEN
    UPDATE tenantry.tenants
       SET status = t.previous_status, previous_status = NULL, failed_step = p_step, last_error = p_error, updated_at = now()
     WHERE tenant_id = p_tenant RETURNING * INTO t;
    v_reenabled := true;
  ELSE
    UPDATE tenantry.tenants SET failed_step = p_step, last_error = p_error, updated_at = now()
     WHERE tenant_id = p_tenant RETURNING * INTO t;
  END IF;
  PERFORM tenantry.audit(p_tenant, 'deprovision.failed', NULL, p_execution,
    jsonb_build_object('step', p_step, 'error', p_error, 'reenabled', v_reenabled));
  RETURN jsonb_build_object('owned', true, 'reenabled', v_reenabled, 'status', t.status);
END
$$;
`;

export const CONTROL_MIGRATIONS: readonly ControlMigration[] = [
  { version: 1, name: 'registry', sql: REGISTRY },
  { version: 2, name: 'step_functions', sql: STEP_FUNCTIONS },
  { version: 3, name: 'templates', sql: TEMPLATES + defaultTemplateRows() },
  { version: 4, name: 'stopped_executions', sql: STOPPED_EXECUTIONS },
  { version: 5, name: 'deprovision', sql: DEPROVISION },
  { version: 6, name: 'deletion_schedules', sql: SCHEDULES_SQL },
  { version: 7, name: 'restore', sql: RESTORE_SQL },
  { version: 8, name: 'execution_leases', sql: LEASES_SQL },
  { version: 9, name: 'seed_rows', sql: SEED_ROWS_SQL },
];
