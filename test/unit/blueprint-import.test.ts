import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlueprintCatalog, checkStatements, loadBlueprintFrom, parseJsonExact } from '../../shared/blueprint';
import { formatImportReport, importDump, writeImportedBlueprint } from '../../shared/blueprint-import';
import { decodeCopyField } from '../../shared/blueprint-import/data';
import { BlueprintError, ValidationError } from '../../shared/errors';
import { splitSqlStatements } from '../../shared/sql/split';
import { tempDir } from '../support/temp-dirs';

const DUMPS = join(import.meta.dirname, '..', 'fixtures', 'dumps');
const read = (name: string) => readFileSync(join(DUMPS, `${name}.sql`), 'utf8');

describe('importDump: pg_dump 9.6, search_path style', () => {
  const dump = read('legacy-pg96');
  const imported = importDump(dump, { name: 'legacy', data: true, source: 'legacy-pg96.sql' });
  const migration = imported.files['migrations/0001_legacy_pg96.sql'] ?? '';
  const statements = splitSqlStatements(migration).map((s) => s.sql);

  it('keeps every line where it was in the dump (line N of the migration is line N of the dump)', () => {
    const dumpLines = dump.split('\n');
    const lines = migration.split('\n');
    for (const s of splitSqlStatements(migration)) {
      if (s.sql.startsWith('CREATE TABLE') || s.sql.startsWith('CREATE FUNCTION'))
        expect(dumpLines[s.line - 1]).toBe(lines[s.line - 1]);
    }
  });

  it('removes what belongs to the database or its roles, with a comment where each was', () => {
    expect(statements.filter((s) => /OWNER TO|^GRANT|^REVOKE|EXTENSION|^SET (?!LOCAL)/.test(s))).toEqual([]);
    expect(migration).toContain(
      '-- tenantry import: removed privileges on a schema: REVOKE ALL ON SCHEMA public FROM PUBLIC',
    );
    expect(migration).toContain(
      "-- tenantry import: removed extension (install extensions database-wide, not per tenant): COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language'",
    );
    expect(migration.split('\n')[12]).toBe('SET LOCAL check_function_bodies = false;');
    expect(checkStatements('legacy/migrations/0001_legacy_pg96.sql', migration)).toEqual([]);
  });

  it('moves plain indexes to indexes.sql in the loader format and keeps unique ones', () => {
    expect(imported.files['indexes.sql']).toBe(
      'CREATE INDEX IF NOT EXISTS idx_ledger_entries_account ON ledger_entries USING btree (account_id);\n' +
        'CREATE INDEX IF NOT EXISTS idx_events_happened_on ON events USING btree (happened_on DESC);\n',
    );
    expect(statements).toContain('CREATE UNIQUE INDEX accounts_name_key ON accounts USING btree (name)');
  });

  it('turns COPY data into seed.json exactly: text stays text, NULL stays null, jsonb stays its JSON text', () => {
    const seed = imported.files['seed.json'] ?? '';
    expect(seed).toContain('"balance": "123456789012345678901234567890"');
    expect(seed).toContain('"lifetime_events": "9223372036854775807"');
    expect(seed).toContain(
      '"attributes": {"limit": 123456789012345678901234567890, "tags": ["gold", "early"]}',
    );
    expect(seed).toContain('"name": "Bob \\"Tab\\"\\tTables", "contact": null');
    // What the loader reads and the seed step sends: the big number is not rounded.
    const parsed = parseJsonExact(seed) as { tables: { table: string; rows: Record<string, unknown>[] }[] };
    expect(parsed.tables.map((t) => t.table)).toEqual([
      'accounts',
      'events',
      'ledger_entries',
      'login_events',
    ]);
    expect(JSON.stringify(parsed.tables[0]?.rows[0]?.attributes)).toBe(
      '{"limit":123456789012345678901234567890,"tags":["gold","early"]}',
    );
    expect(migration).toContain("SELECT pg_catalog.setval('accounts_id_seq', 7, true);");
  });

  it('without --data removes the data and the sequence positions', () => {
    const schemaOnly = importDump(dump, { name: 'legacy', source: 'legacy-pg96.sql' });
    expect(schemaOnly.files['seed.json']).toBeUndefined();
    const sql = schemaOnly.files['migrations/0001_legacy_pg96.sql'] ?? '';
    expect(sql).toContain('-- tenantry import: removed table data (import with --data to make it seed.json)');
    expect(splitSqlStatements(sql).filter((s) => /setval|^COPY/.test(s.sql))).toEqual([]);
  });
});

describe('importDump: pg_dump 16, fully qualified, \\restrict', () => {
  const dump = read('modern-pg16');
  const imported = importDump(dump, { name: 'modern', data: true, source: 'modern-pg16.sql' });
  const migration = imported.files['migrations/0001_modern_pg16.sql'] ?? '';

  it('strips the public qualifiers in code and in object-naming literals; leaves pg_catalog', () => {
    expect(migration).toContain(
      "ALTER TABLE ONLY customers ALTER COLUMN id SET DEFAULT nextval('customers_id_seq'::regclass);",
    );
    expect(migration).toContain("SELECT pg_catalog.setval('invoice_number_seq', 1041, true);");
    expect(migration).toContain('SFUNC = pg_catalog.enum_larger');
    expect(migration).toContain('CREATE TABLE archived_tickets (');
    expect(migration).toContain('INHERITS (tickets);');
    expect(checkStatements('modern/migrations/0001_modern_pg16.sql', migration)).toEqual([]);
  });

  it('removes \\restrict, \\unrestrict and set_config(search_path) and pins the function search_path', () => {
    expect(migration).toContain('-- tenantry import: removed psql meta-command: \\restrict');
    expect(migration).toContain('-- tenantry import: removed psql meta-command: \\unrestrict');
    expect(migration).not.toContain('q8ZkV3xw1N0');
    expect(migration).toContain(
      "removed search_path setting (the runner sets the tenant schema): SELECT pg_catalog.set_config('search_path', '', false)",
    );
    expect(migration).toContain('    SET search_path FROM CURRENT\n    AS $$ SELECT key_hash FROM api_keys');
  });

  it('turns INSERT data (one and many rows) into seed.json in foreign-key order', () => {
    const seed = parseJsonExact(imported.files['seed.json'] ?? '') as {
      tables: { table: string; rows: Record<string, unknown>[] }[];
    };
    const order = seed.tables.map((t) => t.table);
    expect(order.indexOf('customers')).toBeLessThan(order.indexOf('api_keys'));
    expect(order.indexOf('customers')).toBeLessThan(order.indexOf('tickets'));
    const customers = seed.tables.find((t) => t.table === 'customers')?.rows ?? [];
    expect(customers[0]).toMatchObject({
      credit_limit: '123456789012345678901234567890',
      counter: '9223372036854775807',
    });
    expect(JSON.stringify(customers[0]?.profile)).toBe(
      '{"score":12345678901234567890123,"ratio":0.100000000000000000001}',
    );
    expect(customers[1]).toMatchObject({ email: "it's@example.com", credit_limit: null, profile: null });
    expect(seed.tables.find((t) => t.table === 'tickets')?.rows.map((r) => r.subject)).toEqual([
      'Line one\nline two',
      "Tab\tand 'quote'",
    ]);
  });

  it('reports every change grouped with dump lines, and every warning', () => {
    const report = formatImportReport(imported, '/blueprints/modern');
    expect(report).toMatch(/schema qualifier 'public\.' removed \[\d+\]: lines 41, 54, /);
    expect(report).toMatch(/psql meta-command \[2\]: lines 5, 381/);
    expect(report).toMatch(
      /line 64: SECURITY DEFINER: .*"securityDefiner": \["api_key_for\(p_customer integer\)"\]/,
    );
    expect(report).toMatch(
      /line 350: trigger fires during seeding: trigger customers_normalise_email on customers/,
    );
    expect(imported.warnings).toHaveLength(2);
  });
});

describe('importDump edge cases', () => {
  it('keeps qualifiers of other schemas and warns; refuses a bad name', () => {
    const imported = importDump(
      "CREATE SCHEMA audit;\nCREATE TABLE public.t (id int DEFAULT nextval('audit.s'::regclass));\nCREATE VIEW v AS SELECT * FROM audit.log;\n",
      { name: 'edge' },
    );
    expect(imported.warnings.map((w) => `${w.line}: ${w.detail}`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^1: schema audit is not the source schema/),
        expect.stringMatching(/^2: 'audit\.s': the tenant would depend on schema audit/),
        expect.stringMatching(/^3: audit\.log: the tenant would depend on schema audit/),
      ]),
    );
    expect(() => importDump('SELECT 1;', { name: 'Bad Name' })).toThrow(ValidationError);
    expect(() => importDump('-- nothing\n', { name: 'empty' })).toThrow(/no SQL statements/);
  });

  it('imports another source schema with --schema, and turns unknown session SETs into SET LOCAL', () => {
    const imported = importDump(
      "SET work_mem = '64MB';\nCREATE TABLE app.t (id int);\nCREATE INDEX t_id ON app.t (id);\nALTER TABLE ONLY app.t CLUSTER ON t_id;\n",
      { name: 'app', schema: 'app' },
    );
    const sql = imported.files['migrations/0001_import.sql'] ?? '';
    expect(sql).toContain("SET LOCAL work_mem = '64MB';");
    expect(sql).toContain('CREATE TABLE t (id int);');
    // An index another statement names (CLUSTER ON) stays in the migration.
    expect(sql).toContain('CREATE INDEX t_id ON t (id);');
    expect(imported.files['indexes.sql']).toBeUndefined();
  });

  it('decodes COPY text fields as COPY FROM does', () => {
    expect(decodeCopyField('\\N')).toBeNull();
    expect(decodeCopyField('a\\tb\\\\c\\nd')).toBe('a\tb\\c\nd');
    expect(decodeCopyField('\\303\\251t\\xc3\\xa9')).toBe('été');
  });

  it('refuses to overwrite an existing blueprint unless forced, and writes a loadable one', () => {
    const root = tempDir('import-unit-');
    const imported = importDump(read('modern-pg16'), { name: 'modern', data: true });
    const bp = writeImportedBlueprint(root, imported);
    expect(bp.seed.map((s) => s.table)).toContain('customers');
    expect(bp.indexes.map((i) => i.name)).toEqual(['idx_tickets_customer', 'idx_customers_profile']);
    expect(() => writeImportedBlueprint(root, imported)).toThrow(/already exists .*--force/);
    expect(writeImportedBlueprint(root, imported, { force: true }).name).toBe('modern');
    expect(loadBlueprintFrom(join(root, 'modern')).version).toBe(1);
  });
});

describe('blueprint checks', () => {
  const check = (sql: string) => checkStatements('bp/migrations/0001_x.sql', sql);

  it('reports every problem of a file at once, each with its line', () => {
    const problems = check(
      [
        'CREATE TABLE t (id int);',
        'SET statement_timeout = 0;',
        "SELECT set_config('lock_timeout', '1s', false);",
        "CREATE TABLE u (id int DEFAULT nextval('public.u_seq'::regclass));",
        "SELECT setval('public.u_seq', 3);",
        'RESET ALL;',
      ].join('\n'),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^bp\/migrations\/0001_x\.sql line 2: a session SET/),
      expect.stringMatching(/line 3: set_config\(\.\.\., false\)/),
      expect.stringMatching(/line 4: a 'public\.' schema qualifier inside the literal 'public\.u_seq'/),
      expect.stringMatching(/line 5: a 'public\.' schema qualifier inside the literal 'public\.u_seq'/),
      expect.stringMatching(/line 6: RESET/),
    ]);
  });

  it('accepts SET LOCAL, set_config(..., true) and a routine pinned with SET search_path FROM CURRENT', () => {
    expect(
      check(
        [
          'SET LOCAL check_function_bodies = false;',
          "SELECT set_config('lock_timeout', '1s', true);",
          'CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path FROM CURRENT AS $$ SELECT 1 $$;',
          'ALTER FUNCTION f() SET search_path FROM CURRENT;',
          'SET CONSTRAINTS ALL DEFERRED;',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('refuses other search_path changes, pointing at FROM CURRENT', () => {
    for (const sql of [
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path TO 'public' AS $$ SELECT 1 $$;",
      'SET LOCAL search_path TO other;',
      "SELECT pg_catalog.set_config('search_path', '', true);",
    ])
      expect(check(sql)).toEqual([
        expect.stringMatching(/search_path changes .*SET search_path FROM CURRENT/),
      ]);
  });

  it('a broken blueprint is one BlueprintError listing all its problems', () => {
    const root = tempDir('import-checks-');
    const imported = importDump('CREATE TABLE t (id int);\n', { name: 'broken' });
    writeImportedBlueprint(root, imported);
    writeFileSync(
      join(root, 'broken', 'migrations', '0001_import.sql'),
      'SET a = 1;\nGRANT ALL ON t TO x;\n',
    );
    writeFileSync(join(root, 'broken', 'indexes.sql'), 'CREATE INDEX i ON t (id);\n');
    let error: unknown;
    try {
      loadBlueprintFrom(join(root, 'broken'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BlueprintError);
    expect((error as BlueprintError).problems).toEqual([
      expect.stringMatching(/^broken\/migrations\/0001_import\.sql line 1: a session SET/),
      expect.stringMatching(/^broken\/migrations\/0001_import\.sql line 2: GRANT\/REVOKE/),
      expect.stringMatching(/^broken\/indexes\.sql line 1: expected 'CREATE INDEX IF NOT EXISTS/),
    ]);
    expect((error as Error).message).toMatch(/^blueprint 'broken' has 3 problems:\n {2}- /);

    // Listing shows the good ones and the broken one with its problems, instead of failing for all.
    writeImportedBlueprint(root, importDump('CREATE TABLE t (id int);\n', { name: 'good' }));
    const listed = new BlueprintCatalog(root).list();
    expect(listed.map((l) => [l.name, l.blueprint?.version, l.problems?.length])).toEqual([
      ['broken', undefined, 3],
      ['good', 1, undefined],
    ]);
  });
});
