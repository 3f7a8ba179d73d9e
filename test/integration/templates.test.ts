import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BlueprintCatalog } from '../../shared/blueprint';
import { computeBlueprintLock, writeBlueprintLock } from '../../shared/blueprint-lock';
import { readCatalog } from '../../shared/catalog';
import { ConflictError, TransientDatabaseError, ValidationError } from '../../shared/errors';
import { getTenant } from '../../shared/registry/tenants';
import type { SqlExecutor } from '../../shared/sql/port';
import { DEFAULT_TEMPLATES } from '../../shared/templates/defaults';
import { generatePassword, hashPassword, verifyPassword } from '../../shared/templates/password';
import { type TemplateDefinitionInput, TemplateDefinitionSchema } from '../../shared/templates/schema';
import { TemplateStore } from '../../shared/templates/store';
import { blueprintSandbox } from '../support/blueprints';
import { type TestDatabase, testBackends } from '../support/databases';
import { engineFor, provision, registryRow, schemaExists, TEMPLATE_STEPS } from '../support/provisioning';

const blueprints = new BlueprintCatalog();

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

async function count(db: SqlExecutor, schema: string, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}"."${table}"`);
  return rows[0]?.n ?? -1;
}

/** Every table of the given schemas whose rows, as text, contain `needle`. */
async function tablesContaining(db: SqlExecutor, schemas: string[], needle: string): Promise<string[]> {
  const { rows } = await db.query<{ schemaname: string; tablename: string }>(
    "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY (string_to_array($1, ','))",
    [schemas.join(',')],
  );
  const hits: string[] = [];
  for (const r of rows) {
    const found = await db.query(
      `SELECT 1 FROM "${r.schemaname}"."${r.tablename}" t WHERE strpos(t::text, $1) > 0 LIMIT 1`,
      [needle],
    );
    if (found.rows.length > 0) hits.push(`${r.schemaname}.${r.tablename}`);
  }
  return hits;
}

const custom = (overrides: Partial<TemplateDefinitionInput> = {}): TemplateDefinitionInput => ({
  name: 'Pilot Programme',
  category: 'custom',
  blueprint: 'school-erp',
  blueprintVersion: 1,
  settings: { 'features.pilot': true },
  limits: { maxUsers: 5 },
  initialData: [{ table: 'schools', rows: [{ id: 1, code: 'PILOT', name: 'Pilot School' }] }],
  ...overrides,
});

describe.each(testBackends())('Templates on $name', (backend) => {
  let t: TestDatabase;
  let store: TemplateStore;
  beforeAll(async () => {
    t = await backend.open();
    store = new TemplateStore(t.db, blueprints);
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => vi.restoreAllMocks());

  it('has the three default templates after install', async () => {
    const templates = await store.list();
    expect(templates.map((x) => [x.templateId, x.category, x.currentVersion, x.definition.limits])).toEqual([
      [
        'basic-school-system',
        'basic',
        1,
        { maxUsers: 50, maxSchools: 10, maxProducts: 500, maxStorageGb: 10 },
      ],
      [
        'municipality',
        'municipality',
        1,
        { maxUsers: 500, maxSchools: 200, maxProducts: 5000, maxStorageGb: 500 },
      ],
      [
        'school-district',
        'school_district',
        1,
        { maxUsers: 200, maxSchools: 50, maxProducts: 2000, maxStorageGb: 100 },
      ],
    ]);
    for (const d of DEFAULT_TEMPLATES) expect(() => TemplateDefinitionSchema.parse(d)).not.toThrow();
  });

  it.each([
    ['Basic School System', 'basic-school', 1],
    ['School District', 'district-nine', 3],
    ['Municipality', 'metro-city', 5],
  ])(
    'provisions from %s: settings, limits, admin user and initial rows; the password never appears',
    async (name, tenantId, schools) => {
      const password = generatePassword();
      const passwordHash = await hashPassword(password);
      // Capture everything the run logs, at the most verbose level.
      const logged: string[] = [];
      const level = process.env.TENANTRY_LOG_LEVEL;
      process.env.TENANTRY_LOG_LEVEL = 'debug';
      vi.spyOn(console, 'log').mockImplementation(
        (...a: unknown[]) => void logged.push(a.map(String).join(' ')),
      );
      vi.spyOn(console, 'error').mockImplementation(
        (...a: unknown[]) => void logged.push(a.map(String).join(' ')),
      );
      const engine = engineFor(t.db);
      let result: Awaited<ReturnType<typeof provision>>;
      try {
        result = await provision(engine, tenantId, undefined as unknown as string, {
          blueprint: undefined,
          template: name,
          adminUser: { email: `admin@${tenantId}.example`, name: 'Ada Admin', passwordHash },
        });
      } finally {
        process.env.TENANTRY_LOG_LEVEL = level;
      }
      const { record, progress } = result;
      expect(record.status).toBe('SUCCEEDED');
      for (const step of TEMPLATE_STEPS)
        expect(progress.steps.find((s) => s.name === step)?.status).toBe('succeeded');
      expect(logged.length).toBeGreaterThan(0);

      const template = await store.get(name);
      const tenant = await getTenant(t.db, tenantId);
      expect(tenant).toMatchObject({ status: 'active', blueprint: 'school-erp' });
      const row = await registryRow(t.db, tenantId);
      expect(row).toMatchObject({
        template_id: template.templateId,
        template_version: 1,
        settings: template.definition.settings,
        limits: template.definition.limits,
      });

      const schema = `tenant_${tenantId.replaceAll('-', '_')}`;
      const admin = await t.db.query<{ email: string; first_name: string; password_hash: string }>(
        `SELECT u.email, u.first_name, u.password_hash FROM "${schema}".users u
         JOIN "${schema}".user_roles ur ON ur.user_id = u.id JOIN "${schema}".roles r ON r.id = ur.role_id
        WHERE r.name = 'admin'`,
      );
      expect(admin.rows).toHaveLength(1);
      expect(admin.rows[0]).toMatchObject({ email: `admin@${tenantId}.example`, first_name: 'Ada Admin' });
      expect(await verifyPassword(password, admin.rows[0]?.password_hash ?? '')).toBe(true);
      expect(await verifyPassword(`${password}x`, admin.rows[0]?.password_hash ?? '')).toBe(false);
      expect(await count(t.db, schema, 'schools')).toBe(schools);
      expect(await count(t.db, schema, 'academic_sessions')).toBe(schools);

      expect(await tablesContaining(t.db, [schema, 'tenantry'], password)).toEqual([]);
      expect(logged.filter((l) => l.includes(password))).toEqual([]);
      expect(JSON.stringify(await engine.history(record.executionId))).not.toContain(password);
    },
  );

  describe.each(TEMPLATE_STEPS)('template step %s', (step) => {
    it('re-runs after a lost result and inserts nothing twice', async () => {
      const tenantId = `tpl-again-${step.toLowerCase()}`;
      const engine = engineFor(t.db, {
        afterTask: (state, attempt) => {
          if (state === step && attempt === 1)
            throw new TransientDatabaseError('connection reset after commit');
        },
      });
      const passwordHash = await hashPassword(generatePassword());
      const { record, progress } = await provision(engine, tenantId, 'school-erp', {
        template: 'school-district',
        adminUser: { email: 'ops@example.com', passwordHash },
      });
      expect(record.status).toBe('SUCCEEDED');
      expect(progress.steps.find((s) => s.name === step)).toMatchObject({ status: 'succeeded', attempts: 2 });
      const schema = `tenant_${tenantId.replaceAll('-', '_')}`;
      expect(await count(t.db, schema, 'schools')).toBe(3);
      expect(await count(t.db, schema, 'users')).toBe(1);
      expect(await count(t.db, schema, 'user_roles')).toBe(1);
    });

    it('a permanent fault ends in Cleanup with nothing left', async () => {
      const tenantId = `tpl-broken-${step.toLowerCase()}`;
      const engine = engineFor(t.db, {
        afterTask: (state) => {
          if (state === step) throw new InjectedPermanentFault(`${step} broke`);
        },
      });
      const { record } = await provision(engine, tenantId, 'school-erp', {
        template: 'basic-school-system',
        adminUser: { email: 'ops@example.com', passwordHash: await hashPassword(generatePassword()) },
      });
      expect(record.error).toBe('InjectedPermanentFault');
      expect(await schemaExists(t.db, `tenant_${tenantId.replaceAll('-', '_')}`)).toBe(false);
      expect(await registryRow(t.db, tenantId)).toMatchObject({ status: 'failed', failed_step: step });
    });
  });

  it('refuses a template whose initial data breaks a constraint when it is saved', async () => {
    const before = await store.list({ includeArchived: true });
    const duplicateCodes = custom({
      name: 'Broken Codes',
      initialData: [
        {
          table: 'schools',
          rows: [
            { id: 1, code: 'SAME', name: 'One' },
            { id: 2, code: 'SAME', name: 'Two' },
          ],
        },
      ],
    });
    await expect(store.create(duplicateCodes, 'test')).rejects.toThrow(ValidationError);
    await expect(store.create(duplicateCodes, 'test')).rejects.toThrow(
      /initialData\[0\] \(schools\).*duplicate key/,
    );
    await expect(
      store.create(
        custom({ name: 'No Such Table', initialData: [{ table: 'nope', rows: [{ id: 1 }] }] }),
        'test',
      ),
    ).rejects.toThrow(/initialData\[0\] \(nope\)/);
    await expect(
      store.create(
        custom({
          name: 'Orphan Session',
          initialData: [
            {
              table: 'academic_sessions',
              rows: [{ id: 1, school_id: 99, name: 'x', start_date: '2026-01-01', end_date: '2026-12-31' }],
            },
          ],
        }),
        'test',
      ),
    ).rejects.toThrow(/foreign key/);
    await expect(
      store.create({ ...custom(), category: 'galactic' as 'custom', limits: { users: -1 } }, 'test'),
    ).rejects.toThrow(/category.*limits\.users/s);
    expect(await store.list({ includeArchived: true })).toEqual(before);
  });

  it('provisions a template with student rows: text admission numbers are never cast, integer ids move on', async () => {
    await store.create(
      custom({
        name: 'With Students',
        initialData: [
          { table: 'schools', rows: [{ id: 1, code: 'S1', name: 'First' }] },
          {
            table: 'students',
            rows: [
              {
                id: 5,
                school_id: 1,
                admission_no: 'ADM000005',
                first_name: 'Ada',
                date_of_birth: '2012-02-02',
              },
              {
                id: 6,
                school_id: 1,
                admission_no: 'ADM000006',
                first_name: 'Alan',
                date_of_birth: '2012-03-03',
              },
            ],
          },
        ],
      }),
      'test',
    );
    const { record } = await provision(engineFor(t.db), 'with-students', 'school-erp', {
      template: 'with-students',
    });
    expect(record.error ?? null, record.cause ?? '').toBeNull();
    const next = await t.db.query<{ id: number; admission_no: string }>(
      `INSERT INTO tenant_with_students.students (school_id, first_name, date_of_birth)
       VALUES (1, 'Grace', '2012-04-04') RETURNING id, admission_no`,
    );
    expect(next.rows[0]?.id).toBe(7);
    expect(next.rows[0]?.admission_no).toMatch(/^ADM\d{6}$/);
  });

  it('updating a template makes a new version and leaves tenants of the earlier one alone', async () => {
    const v1 = await store.create(custom(), 'test');
    expect(v1).toMatchObject({ templateId: 'pilot-programme', currentVersion: 1 });
    expect(
      (await provision(engineFor(t.db), 'pilot-one', 'school-erp', { template: 'pilot-programme' })).record
        .status,
    ).toBe('SUCCEEDED');
    const v2 = await store.update(
      'pilot-programme',
      custom({ settings: { 'features.pilot': false }, limits: { maxUsers: 25 } }),
      'test',
    );
    expect(v2.currentVersion).toBe(2);
    expect(
      (await provision(engineFor(t.db), 'pilot-two', 'school-erp', { template: 'Pilot Programme' })).record
        .status,
    ).toBe('SUCCEEDED');
    expect(await registryRow(t.db, 'pilot-one')).toMatchObject({
      template_version: 1,
      settings: { 'features.pilot': true },
      limits: { maxUsers: 5 },
    });
    expect(await registryRow(t.db, 'pilot-two')).toMatchObject({
      template_version: 2,
      settings: { 'features.pilot': false },
      limits: { maxUsers: 25 },
    });
    expect((await store.versions('pilot-programme')).map((v) => v.version)).toEqual([1, 2]);
    await expect(t.db.query("UPDATE tenantry.template_versions SET created_by = 'x'")).rejects.toThrow(
      /immutable/,
    );

    await expect(store.delete('pilot-programme')).rejects.toThrow(ConflictError);
    await store.archive('pilot-programme');
    const archived = await provision(engineFor(t.db), 'pilot-three', 'school-erp', {
      template: 'pilot-programme',
    });
    expect(archived.progress.error?.cause).toMatch(/template: template 'Pilot Programme' is archived/);
    await store.delete('pilot-programme');
    await expect(store.get('pilot-programme')).rejects.toThrow(/no template/);
    expect(await registryRow(t.db, 'pilot-one')).toMatchObject({ status: 'active', template_version: 1 });
  });

  it('provisions the blueprint version a template pins, not the newest one', async () => {
    const sandbox = blueprintSandbox();
    try {
      writeFileSync(
        join(sandbox.root, 'docex/migrations/0002_partner_notes.sql'),
        'CREATE TABLE partner_notes (id bigint PRIMARY KEY, note text NOT NULL);\n',
      );
      const catalog = sandbox.catalog();
      const docex = catalog.get('docex');
      expect(docex.version).toBe(2);
      writeBlueprintLock(docex, await computeBlueprintLock(t.db, docex));
      catalog.reload();
      const pinned = new TemplateStore(t.db, catalog);
      await pinned.create(
        { name: 'Docex Classic', category: 'custom', blueprint: 'docex', blueprintVersion: 1 },
        'test',
      );
      const { record } = await provision(engineFor(t.db, { blueprints: catalog }), 'classic', 'docex', {
        template: 'docex-classic',
      });
      expect(record.status).toBe('SUCCEEDED');
      const ledger = await t.db.query(
        'SELECT version FROM tenant_classic._tenantry_migrations ORDER BY version',
      );
      expect(ledger.rows).toEqual([{ version: 1 }]);
      expect(await registryRow(t.db, 'classic')).toMatchObject({ blueprint_version: 1, template_version: 1 });
      expect((await readCatalog(t.db, 'tenant_classic')).fingerprint).toBe(docex.lock['1']?.fingerprint);
    } finally {
      sandbox.dispose();
    }
  });

  it.each([
    [{ template: 'no-such-template' }, /template: no template 'no-such-template'/],
    [{ template: 'basic-school-system' }, /adminUser: template 'Basic School System' creates an admin user/],
    [
      {
        template: 'basic-school-system',
        blueprint: 'docex',
        adminUser: { email: 'a@b.co', passwordHash: 'scrypt$1$1$1$YQ==$YQ==' },
      },
      /blueprint: template 'Basic School System' provisions school-erp, not docex/,
    ],
    [
      { template: 'basic-school-system', adminUser: { email: 'a@b.co', password: 'hunter2hunter2' } },
      /adminUser/,
    ],
    [
      { blueprint: 'docex', adminUser: { email: 'a@b.co', passwordHash: 'scrypt$1$1$1$YQ==$YQ==' } },
      /adminUser: only a template/,
    ],
  ])('refuses a bad template request in Validate, before anything is created (%#)', async (extra, reason) => {
    const { record, progress } = await provision(engineFor(t.db), 'tpl-refused', 'school-erp', {
      blueprint: undefined,
      ...extra,
    });
    expect(record.error).toBe('ValidationError');
    expect(progress.error?.cause).toMatch(reason);
    expect(await schemaExists(t.db, 'tenant_tpl_refused')).toBe(false);
    expect(await registryRow(t.db, 'tpl-refused')).toBeUndefined();
  });
});
