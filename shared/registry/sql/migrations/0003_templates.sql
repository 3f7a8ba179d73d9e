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

-- Version 1 of each default template (DEFAULT_TEMPLATES in shared/templates/defaults.ts when this
-- was released; test/unit/control-sql.test.ts holds the two equal).
INSERT INTO tenantry.templates (template_id, name, category, current_version)
  VALUES ('basic-school-system', 'Basic School System', 'basic', 1);
INSERT INTO tenantry.template_versions (template_id, version, definition, created_by)
  VALUES ('basic-school-system', 1, '{"name":"Basic School System","description":"One school or a small group: core modules with inventory, contracts, deliveries, reports and mobile.","category":"basic","blueprint":"school-erp","blueprintVersion":1,"settings":{"features.inventory":true,"features.contracts":true,"features.deliveries":true,"features.reports":true,"features.mobile":true,"features.analytics":false,"features.integrations":false},"limits":{"maxUsers":50,"maxSchools":10,"maxProducts":500,"maxStorageGb":10},"initialData":[{"table":"schools","rows":[{"id":1,"code":"SCH-001","name":"School 1"}]},{"table":"academic_sessions","rows":[{"id":1,"school_id":1,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true}]}],"adminUser":{"description":"The first administrator, with the admin role; must change the password at first login.","rows":[{"table":"users","rows":[{"id":1,"email":"{{admin.email}}","first_name":"{{admin.name}}","password_hash":"{{admin.passwordHash}}","status":"active","must_change_password":true}]},{"table":"user_roles","rows":[{"id":1,"user_id":1,"role_id":1}]}]}}'::jsonb, 'tenantry');
INSERT INTO tenantry.templates (template_id, name, category, current_version)
  VALUES ('school-district', 'School District', 'school_district', 1);
INSERT INTO tenantry.template_versions (template_id, version, definition, created_by)
  VALUES ('school-district', 1, '{"name":"School District","description":"A district running many schools: every basic feature plus analytics.","category":"school_district","blueprint":"school-erp","blueprintVersion":1,"settings":{"features.inventory":true,"features.contracts":true,"features.deliveries":true,"features.reports":true,"features.mobile":true,"features.analytics":true,"features.integrations":false},"limits":{"maxUsers":200,"maxSchools":50,"maxProducts":2000,"maxStorageGb":100},"initialData":[{"table":"schools","rows":[{"id":1,"code":"SCH-001","name":"School 1"},{"id":2,"code":"SCH-002","name":"School 2"},{"id":3,"code":"SCH-003","name":"School 3"}]},{"table":"academic_sessions","rows":[{"id":1,"school_id":1,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true},{"id":2,"school_id":2,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true},{"id":3,"school_id":3,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true}]}],"adminUser":{"description":"The first administrator, with the admin role; must change the password at first login.","rows":[{"table":"users","rows":[{"id":1,"email":"{{admin.email}}","first_name":"{{admin.name}}","password_hash":"{{admin.passwordHash}}","status":"active","must_change_password":true}]},{"table":"user_roles","rows":[{"id":1,"user_id":1,"role_id":1}]}]}}'::jsonb, 'tenantry');
INSERT INTO tenantry.templates (template_id, name, category, current_version)
  VALUES ('municipality', 'Municipality', 'municipality', 1);
INSERT INTO tenantry.template_versions (template_id, version, definition, created_by)
  VALUES ('municipality', 1, '{"name":"Municipality","description":"A municipality with schools and services: every feature, including integrations.","category":"municipality","blueprint":"school-erp","blueprintVersion":1,"settings":{"features.inventory":true,"features.contracts":true,"features.deliveries":true,"features.reports":true,"features.mobile":true,"features.analytics":true,"features.integrations":true},"limits":{"maxUsers":500,"maxSchools":200,"maxProducts":5000,"maxStorageGb":500},"initialData":[{"table":"schools","rows":[{"id":1,"code":"SCH-001","name":"School 1"},{"id":2,"code":"SCH-002","name":"School 2"},{"id":3,"code":"SCH-003","name":"School 3"},{"id":4,"code":"SCH-004","name":"School 4"},{"id":5,"code":"SCH-005","name":"School 5"}]},{"table":"academic_sessions","rows":[{"id":1,"school_id":1,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true},{"id":2,"school_id":2,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true},{"id":3,"school_id":3,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true},{"id":4,"school_id":4,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true},{"id":5,"school_id":5,"name":"2026-2027","start_date":"2026-04-01","end_date":"2027-03-31","is_current":true}]}],"adminUser":{"description":"The first administrator, with the admin role; must change the password at first login.","rows":[{"table":"users","rows":[{"id":1,"email":"{{admin.email}}","first_name":"{{admin.name}}","password_hash":"{{admin.passwordHash}}","status":"active","must_change_password":true}]},{"table":"user_roles","rows":[{"id":1,"user_id":1,"role_id":1}]}]}}'::jsonb, 'tenantry');
