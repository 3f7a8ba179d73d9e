import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BlueprintCatalog } from '../../shared/blueprint';
import { computeBlueprintLock, writeBlueprintLock } from '../../shared/blueprint-lock';
import { readCatalog } from '../../shared/catalog';
import { quoteIdent } from '../../shared/identifiers';
import type { SqlExecutor } from '../../shared/sql/port';
import { PostgresClient } from '../../shared/sql/postgres';
import { cli } from '../support/cli';
import { freshServerDatabase, serverUrl, type TestDatabase, testBackends } from '../support/databases';
import { engineFor, provision } from '../support/provisioning';
import { tempDir } from '../support/temp-dirs';

/**
 * Synthetic pg_dumps written for this test (test/fixtures/dumps): an old search_path-style dump
 * (pg_dump 9.6) and a fully qualified pg_dump 16 dump with \restrict. Each is imported with
 * `tenantry blueprint import --data`, locked with `tenantry blueprint lock`, and provisioned for two
 * tenants. On the server, the original dump is loaded into a reference database: each tenant's
 * `pg_dump -s` must equal the reference's with the schema name replaced, and its data must equal
 * the reference's, as text.
 *
 * What the comparison normalises, and why: comments and blank lines; the dump's session header
 * (SET, set_config, \restrict); ownership and ACL lines (roles differ between databases; the
 * import removes them); schema-level statements (the tenant schema is Tenantry's); a routine's
 * `SET search_path TO ...` line (the import pins it with FROM CURRENT, and provisioning pins every
 * routine to the tenant schema); Tenantry's own ledger table.
 */
// Loading reference databases and running pg_dump takes long on a busy machine (nothing here is timed).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const DUMPS = join(import.meta.dirname, '..', 'fixtures', 'dumps');
const FIXTURES = ['legacy-pg96', 'modern-pg16'] as const;
/** The roles the dumps name: absent here, so loading the reference reports exactly these. */
const DUMP_ROLES = /role "(legacy_owner|legacy_reporting|app_owner|app_reader)" does not exist/;

const root = { dir: '' };
const saved = process.env.TENANTRY_BLUEPRINTS;
const reports: Record<string, string> = {};

beforeAll(async () => {
  root.dir = tempDir('import-blueprints-');
  process.env.TENANTRY_BLUEPRINTS = root.dir;
  for (const name of FIXTURES) {
    const imported = await cli('blueprint', 'import', join(DUMPS, `${name}.sql`), '--name', name, '--data');
    expect(imported.err).toBe('');
    expect(imported.code).toBe(0);
    reports[name] = imported.out;
    if (name === 'modern-pg16') {
      // The dump's SECURITY DEFINER function, declared deliberately (the import only warns about it).
      const path = join(root.dir, name, 'blueprint.json');
      const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      writeFileSync(
        path,
        JSON.stringify({ ...manifest, securityDefiner: ['api_key_for(p_customer integer)'] }),
      );
    }
    const locked = await cli('blueprint', 'lock', name);
    expect(locked.err).toBe('');
    expect(locked.code).toBe(0);
  }
});

afterAll(() => {
  if (saved === undefined) delete process.env.TENANTRY_BLUEPRINTS;
  else process.env.TENANTRY_BLUEPRINTS = saved;
});

it('the import reports every change and warning at once, with dump lines', () => {
  expect(reports['legacy-pg96']).toMatch(/ownership \(OWNER TO[^\n]*\[13\]: lines 44, 54/);
  expect(reports['legacy-pg96']).toMatch(/privileges on a schema \[4\]: lines 349-352/);
  expect(reports['legacy-pg96']).toMatch(/needed setting made SET LOCAL \[1\]: line 13/);
  expect(reports['modern-pg16']).toMatch(/psql meta-command \[2\]: lines 5, 381/);
  expect(reports['modern-pg16']).toMatch(/line 64: SECURITY DEFINER: api_key_for\(p_customer integer\)/);
  expect(reports['modern-pg16']).toMatch(/line 350: trigger fires during seeding/);
});

it('blueprint list shows the good blueprints, and a broken one with all its problems', async () => {
  const dir = join(root.dir, 'broken-one');
  mkdirSync(join(dir, 'migrations'), { recursive: true });
  writeFileSync(join(dir, 'blueprint.json'), JSON.stringify({ name: 'broken-one', description: 'broken' }));
  writeFileSync(join(dir, 'migrations', '0001_x.sql'), 'SET a = 1;\nCREATE TABLE public.t (id int);\n');
  try {
    const listed = await cli('blueprint', 'list');
    expect(listed.code).toBe(1);
    expect(listed.out).toMatch(
      /broken-one +BROKEN: 2 problems\n +broken-one\/migrations\/0001_x\.sql line 1: a session SET[^\n]*\n +broken-one\/migrations\/0001_x\.sql line 2: a 'public\.' schema qualifier/,
    );
    expect(listed.out).toMatch(/legacy-pg96 +v1 locked: Imported from legacy-pg96\.sql \(pg_dump 9\.6\.24\)/);
    expect(listed.out).toMatch(/modern-pg16 +v1 locked/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Each table's rows as text, in order: what "the same data" means here. */
async function rowsAsText(db: SqlExecutor, schema: string, table: string): Promise<string[]> {
  const { rows } = await db.query<{ r: string }>(
    `SELECT x::text AS r FROM ONLY ${quoteIdent(schema)}.${quoteIdent(table)} x ORDER BY 1`,
  );
  return rows.map((r) => r.r);
}

/**
 * The tenant matches its lock, has each migration once in its ledger, and each seeded table holds
 * exactly its seed rows (ONLY: a parent's count leaves its inheriting tables out).
 */
async function expectImportedTenant(
  db: SqlExecutor,
  catalog: BlueprintCatalog,
  name: string,
  schema: string,
) {
  const bp = catalog.get(name);
  expect((await readCatalog(db, schema)).fingerprint).toBe(bp.lock[String(bp.version)]?.fingerprint);
  for (const s of bp.seed) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ONLY ${quoteIdent(schema)}.${quoteIdent(s.table)}`,
    );
    expect(rows[0]?.n, `${schema}.${s.table}`).toBe(s.rows.length);
  }
  const ledger = await db.query<{ version: number; checksum: string }>(
    `SELECT version, checksum FROM ${quoteIdent(schema)}._tenantry_migrations ORDER BY version`,
  );
  expect(ledger.rows).toEqual(bp.migrations.map((m) => ({ version: m.version, checksum: m.checksum })));
}

/** pg_depend edges from an object of `schema` to an object of another, non-system schema. */
async function crossSchemaEdges(db: SqlExecutor, schema: string): Promise<string[]> {
  const { rows } = await db.query<{ edge: string }>(
    `WITH ns(classid, oid, nsp) AS (
       SELECT 'pg_class'::regclass, oid, relnamespace FROM pg_class
       UNION ALL SELECT 'pg_proc'::regclass, oid, pronamespace FROM pg_proc
       UNION ALL SELECT 'pg_type'::regclass, oid, typnamespace FROM pg_type
       UNION ALL SELECT 'pg_constraint'::regclass, oid, connamespace FROM pg_constraint
       UNION ALL SELECT 'pg_operator'::regclass, oid, oprnamespace FROM pg_operator
       UNION ALL SELECT 'pg_collation'::regclass, oid, collnamespace FROM pg_collation
       UNION ALL SELECT 'pg_attrdef'::regclass, a.oid, c.relnamespace FROM pg_attrdef a JOIN pg_class c ON c.oid = a.adrelid
       UNION ALL SELECT 'pg_trigger'::regclass, t.oid, c.relnamespace FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
       UNION ALL SELECT 'pg_rewrite'::regclass, r.oid, c.relnamespace FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
       UNION ALL SELECT 'pg_namespace'::regclass, oid, oid FROM pg_namespace)
     SELECT pg_describe_object(d.classid, d.objid, d.objsubid) || ' -> ' || pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS edge
       FROM pg_depend d
       JOIN ns a ON a.classid = d.classid AND a.oid = d.objid
       JOIN ns b ON b.classid = d.refclassid AND b.oid = d.refobjid
       JOIN pg_namespace an ON an.oid = a.nsp
       JOIN pg_namespace rn ON rn.oid = b.nsp
      WHERE an.nspname = $1 AND rn.nspname <> $1
        AND rn.nspname NOT IN ('pg_catalog', 'information_schema') AND rn.nspname NOT LIKE 'pg\\_toast%'`,
    [schema],
  );
  return rows.map((r) => r.edge);
}

function schemaDump(url: string, schema: string): string {
  return execFileSync(
    'pg_dump',
    ['--schema-only', '--no-owner', '--no-privileges', '-n', schema, '-T', `${schema}._tenantry*`, '-d', url],
    { encoding: 'utf8' },
  );
}

/** The normalisations documented at the top of this file; the schema's name becomes `public`. */
function normaliseDump(text: string, schema: string): string[] {
  const name = new RegExp(`\\b${schema}\\b`, 'g');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('--'))
    .filter((l) => !/^\\(restrict|unrestrict)\b/.test(l))
    .filter((l) => !/^SET |^SELECT pg_catalog\.set_config/.test(l))
    .filter((l) => !/^\s+SET search_path TO /.test(l))
    .filter((l) => !/^ALTER .* OWNER TO /.test(l) && !/^(GRANT|REVOKE) /.test(l))
    .filter((l) => !/^(CREATE|COMMENT ON|ALTER) SCHEMA /.test(l))
    .map((l) => l.replace(name, 'public'));
}

const backends = testBackends().filter((b) => b.name !== 'data-api');

describe.each(backends)('imported dumps on $name', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => {
    await t?.close();
  });

  describe.each(FIXTURES)('%s', (name) => {
    const schemas = [`tenant_${name.replaceAll('-', '_')}_a`, `tenant_${name.replaceAll('-', '_')}_b`];

    it('provisions two tenants that match the lock, with the seed exactly and no edge to another schema', async () => {
      const catalog = new BlueprintCatalog(root.dir);
      const engine = engineFor(t.db, { blueprints: catalog });
      for (const schema of schemas) {
        const tenantId = schema.slice('tenant_'.length).replaceAll('_', '-');
        const { record, progress } = await provision(engine, tenantId, name);
        expect(record.status, JSON.stringify(progress.error)).toBe('SUCCEEDED');
        await expectImportedTenant(t.db, catalog, name, schema);
        expect(await crossSchemaEdges(t.db, schema)).toEqual([]);
      }
      const [a] = schemas;
      if (!a) throw new Error('no schema');
      const one = async (sql: string) => (await t.db.query<{ v: string | null }>(sql)).rows.map((r) => r.v);
      if (name === 'legacy-pg96') {
        expect(
          await one(
            `SELECT concat_ws('|', balance, lifetime_events, attributes->'limit', coalesce(contact, 'NULL')) AS v FROM ${a}.accounts ORDER BY id`,
          ),
        ).toEqual([
          '123456789012345678901234567890|9223372036854775807|123456789012345678901234567890|ada@example.com',
          // concat_ws leaves out the NULL attributes
          '0.000000000000000000000000000001|-9223372036854775808|NULL',
          '-1.5|0|c@example.com',
        ]);
        expect(await one(`SELECT name AS v FROM ${a}.accounts WHERE id = 2`)).toEqual(['Bob "Tab"\tTables']);
        expect(await one(`SELECT amount::text AS v FROM ${a}.ledger_entries WHERE id = 3`)).toEqual([
          '123456789012345678901234567890.0000000001',
        ]);
        expect(await one(`SELECT attributes->'nested'->>'big' AS v FROM ${a}.accounts WHERE id = 3`)).toEqual(
          ['-98765432109876543210.5'],
        );
        expect(await one(`SELECT last_value || ' ' || is_called AS v FROM ${a}.accounts_id_seq`)).toEqual([
          '7 true',
        ]);
        expect(await one(`SELECT count(*)::text AS v FROM ${a}.events`)).toEqual(['2']); // with login_events
      } else {
        expect(
          await one(
            `SELECT concat_ws('|', credit_limit, counter, profile->'score', profile->'ratio', tags[2]) AS v FROM ${a}.customers ORDER BY id`,
          ),
        ).toEqual([
          '123456789012345678901234567890|9223372036854775807|12345678901234567890123|0.100000000000000000001|early bird',
          '-1',
        ]);
        expect(await one(`SELECT subject AS v FROM ${a}.tickets ORDER BY id`)).toEqual([
          'Line one\nline two',
          "Tab\tand 'quote'",
          'old; archived',
        ]);
        expect(
          await one(
            `SELECT string_agg(last_value || ' ' || is_called, ',') AS v FROM (SELECT * FROM ${a}.customers_id_seq UNION ALL SELECT * FROM ${a}.invoice_number_seq UNION ALL SELECT * FROM ${a}.tickets_id_seq) s`,
          ),
        ).toEqual(['2 true,1041 true,12 true']);
      }
    });

    // Only the server has a reference database to compare with (and pg_dump to read it).
    if (backend.name === 'postgres')
      it("each tenant's pg_dump -s and data equal the original dump loaded into a reference database", async () => {
        const url = t.url;
        const server = serverUrl();
        if (!url || !server) throw new Error('the postgres backend has a URL');
        const reference = await freshServerDatabase(server);
        try {
          const load = spawnSync(
            'psql',
            ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '-d', reference.url, '-f', join(DUMPS, `${name}.sql`)],
            { encoding: 'utf8' },
          );
          expect(load.status).toBe(0);
          const errors = load.stderr.split('\n').filter((l) => /ERROR:/.test(l));
          expect(errors.length).toBeGreaterThan(0);
          for (const e of errors) expect(e).toMatch(DUMP_ROLES);

          const expected = normaliseDump(schemaDump(reference.url, 'public'), 'public');
          expect(
            expected.filter((l) =>
              /^CREATE (TABLE|FUNCTION|VIEW|TYPE|DOMAIN|AGGREGATE|TRIGGER|INDEX|SEQUENCE)/.test(l),
            ).length,
          ).toBeGreaterThan(12);
          const ref = new PostgresClient({ connectionString: reference.url });
          try {
            const bp = new BlueprintCatalog(root.dir).get(name);
            for (const schema of schemas) {
              expect(normaliseDump(schemaDump(url, schema), schema)).toEqual(expected);
              for (const table of bp.seed.map((s) => s.table))
                expect(await rowsAsText(t.db, schema, table), `${schema}.${table}`).toEqual(
                  await rowsAsText(ref, 'public', table),
                );
            }
          } finally {
            await ref.close();
          }
        } finally {
          await reference.drop();
        }
      });
  });
});

describe('errors name the migration file and line', () => {
  it.each(backends)('at lock time and at run time on $name', async (backend) => {
    const dir = tempDir('import-broken-');
    const broken = join(dir, 'broken');
    mkdirSync(join(broken, 'migrations'), { recursive: true });
    writeFileSync(join(broken, 'blueprint.json'), JSON.stringify({ name: 'broken', description: 'fails' }));
    // Line 4 fails only in a tenant schema (not in the lock's scratch schema); line 6 always.
    const good = [
      '-- a migration',
      'CREATE TABLE t (id integer PRIMARY KEY);',
      '',
      "DO $$ BEGIN IF current_schema() NOT LIKE '\\_tenantry\\_lock%' THEN RAISE EXCEPTION 'not in the lock' USING ERRCODE = '22023'; END IF; END $$;",
    ];
    writeFileSync(
      join(broken, 'migrations', '0001_init.sql'),
      [...good, '', 'SELECT no_such_column', 'FROM t;'].join('\n'),
    );
    const t = await backend.open();
    try {
      const lockError = await computeBlueprintLock(t.db, new BlueprintCatalog(dir).get('broken')).catch(
        (e) => e,
      );
      expect(String(lockError?.message)).toMatch(
        /broken\/migrations\/0001_init\.sql line 6: column "no_such_column"/,
      );

      writeFileSync(join(broken, 'migrations', '0001_init.sql'), good.join('\n'));
      const catalog = new BlueprintCatalog(dir);
      writeBlueprintLock(catalog.get('broken'), await computeBlueprintLock(t.db, catalog.get('broken')));
      catalog.reload();
      const { record, progress } = await provision(
        engineFor(t.db, { blueprints: catalog }),
        'broken-one',
        'broken',
      );
      expect(record.status).toBe('FAILED');
      const step = progress.steps.find((s) => s.name === 'SyncTables');
      expect(step?.error?.cause).toMatch(/broken\/migrations\/0001_init\.sql line 4: not in the lock/);
    } finally {
      await t.close();
    }
  });
});
