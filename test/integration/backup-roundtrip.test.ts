import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSchema } from '../../shared/backup/export';
import { type BackupManifest, BackupManifestSchema, COPY_SETTINGS } from '../../shared/backup/manifest';
import { LocalFolderStore } from '../../shared/blobs/local';
import { quoteIdent } from '../../shared/identifiers';
import type { SqlClient } from '../../shared/sql/port';
import { type TestDatabase, testBackends } from '../support/databases';
import { prng } from '../support/prng';
import { engineFor, provision, registryRow } from '../support/provisioning';
import { EVERYTHING_COLUMNS, randomEverythingRow, STRINGS } from '../support/random-rows';
import {
  backupFolder,
  columnDigests,
  deprovisionTenant,
  insertText,
  lockedBlueprints,
  restoreTenant,
  sequenceStates,
  tableDigests,
} from '../support/roundtrip';

const SEED = Number(process.env.TENANTRY_TEST_SEED ?? 20261130);

function manifestOf(location: unknown): { manifest: BackupManifest; dir: string } {
  const dir = fileURLToPath(String(location));
  return {
    manifest: BackupManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))),
    dir,
  };
}

/** Random rows over every type, edge values mixed in, in every kind of table the blueprint has. */
async function fill(db: TestDatabase['db'], schema: string, seed: number) {
  const r = prng(seed);
  const everything = Array.from({ length: 70 }, (_, i) => [String(i + 1), ...randomEverythingRow(r)]);
  everything.push(['9223372036854775807', ...randomEverythingRow(r)]);
  everything.push(['-9223372036854775808', ...randomEverythingRow(r)]);
  everything.push(['9007199254740993', ...randomEverythingRow(r)]);
  await insertText(db, schema, 'everything', ['id', ...EVERYTHING_COLUMNS], everything);
  await insertText(
    db,
    schema,
    'children',
    ['id', 'everything_id', 'note'],
    everything.map((row, i) => [String(i + 1), row[0] ?? '1', r.pick(STRINGS)]),
  );
  // Sequences move only through their defaults, as an application's inserts move them.
  await insertText(
    db,
    schema,
    'with_identity',
    ['label'],
    Array.from({ length: 23 }, () => [r.pick(STRINGS)]),
  );
  await insertText(
    db,
    schema,
    'serial_owned',
    ['label'],
    Array.from({ length: 11 }, () => [r.pick(STRINGS)]),
  );
  await insertText(
    db,
    schema,
    'text_keyed',
    ['name'],
    Array.from({ length: 9 }, () => [r.pick(STRINGS)]),
  );
  await db.query(`SELECT nextval('${schema}.lonely_counter') FROM generate_series(1, 3)`);
  await insertText(
    db,
    schema,
    'animals',
    ['id', 'name'],
    Array.from({ length: 12 }, (_, i) => [String(i), r.pick(STRINGS)]),
  );
  // The child's rows are the parent's too (SELECT FROM animals shows them): backed up once each.
  await insertText(
    db,
    schema,
    'dogs',
    ['id', 'name', 'breed'],
    Array.from({ length: 9 }, (_, i) => [String(100 + i), r.pick(STRINGS), r.pick([null, ...STRINGS])]),
  );
  await insertText(
    db,
    schema,
    'events',
    ['id', 'at', 'payload'],
    Array.from({ length: 30 }, (_, i) => [
      String(i),
      r.pick(['2025-03-01', '2024-12-31', '2026-01-01', 'infinity']),
      r.pick(STRINGS),
    ]),
  );
  // No key at all, and identical rows: each must come back as often as it was there.
  const dupes = Array.from({ length: 25 }, () => [r.pick(['x', 'y', null]), r.pick(['1', null])]);
  await insertText(db, schema, 'no_key', ['a', 'b'], [...dupes, ...dupes.slice(0, 5)]);
  // One text column: an empty string is an empty line in COPY text.
  await insertText(db, schema, 'single_column', ['only_text'], [[''], [null], ['\\N'], [''], ['tab\there']]);
}

describe.each(testBackends())('Backups restore exactly on $name', (backend) => {
  let t: TestDatabase;
  let blueprints: Awaited<ReturnType<typeof lockedBlueprints>>;
  let backups: ReturnType<typeof backupFolder>;
  const savedSlice = process.env.TENANTRY_BACKUP_SLICE_SECONDS;

  beforeAll(async () => {
    t = await backend.open();
    blueprints = await lockedBlueprints(t.db, ['alltypes']);
    backups = backupFolder();
  });
  afterAll(async () => {
    if (savedSlice === undefined) delete process.env.TENANTRY_BACKUP_SLICE_SECONDS;
    else process.env.TENANTRY_BACKUP_SLICE_SECONDS = savedSlice;
    await t?.close();
    blueprints?.dispose();
    backups?.dispose();
  });

  it('round-trips random rows of every type, every kind of table and every sequence, over several invocations', async () => {
    const engine = engineFor(t.db, { blueprints: blueprints.catalog });
    const made = await provision(engine, 'prop', 'alltypes');
    expect(made.record.error ?? null, made.record.cause ?? '').toBeNull();
    const schema = 'tenant_prop';
    await fill(t.db, schema, SEED);
    const rows = await tableDigests(t.db, schema);
    const columns = await columnDigests(t.db, schema, 'everything', 'id');
    const sequences = await sequenceStates(t.db, schema);
    expect(rows.dogs).toMatch(/^9 rows/);
    expect(rows.animals).toMatch(/^12 rows/);
    expect(Object.keys(sequences).sort()).toEqual([
      'free_counter',
      'lonely_counter',
      'serial_owned_id_seq',
      'with_identity_id_seq',
    ]);

    // Every page in an invocation of its own: the backup goes on across invocations.
    process.env.TENANTRY_BACKUP_SLICE_SECONDS = '0';
    const gone = await deprovisionTenant(engine, 'prop');
    expect(gone.record.error ?? null, gone.record.cause ?? '').toBeNull();
    const backupStep = gone.progress.steps.find((s) => s.name === 'Backup');
    expect(backupStep?.invocations).toBeGreaterThan(10);
    expect(backupStep?.attempts).toBe(backupStep?.invocations);
    expect(backupStep?.output).toMatchObject({ done: true });
    const { manifest } = manifestOf((await registryRow(t.db, 'prop'))?.backup_location);
    expect(manifest.format).toBe('tenantry-backup/2');
    expect(manifest.tables.map((x) => x.table)).not.toContain('events');
    expect(manifest.tables.find((x) => x.table === 'events_2025')?.rows).toBeGreaterThan(0);
    expect(
      Object.fromEntries(manifest.sequences.map((s) => [s.sequence, `${s.lastValue} called=${s.isCalled}`])),
    ).toEqual(sequences);

    await restoreTenant(engine, 'prop');
    expect(await columnDigests(t.db, schema, 'everything', 'id')).toEqual(columns);
    expect(await tableDigests(t.db, schema)).toEqual(rows);
    expect(await sequenceStates(t.db, schema)).toEqual(sequences);
    expect(await registryRow(t.db, 'prop')).toMatchObject({ status: 'active' });

    // Usable at once: the next insert with a default key takes the next value, no collision.
    await t.db.query(`INSERT INTO ${schema}.with_identity (label) VALUES ('new')`);
    await t.db.query(`INSERT INTO ${schema}.serial_owned (label) VALUES ('new')`);
    await t.db.query(`INSERT INTO ${schema}.text_keyed (name) VALUES ('new')`);
    const ids = await t.db.query<{ a: string; b: string; c: string }>(
      `SELECT (SELECT id::text FROM ${schema}.with_identity WHERE label = 'new') AS a,
              (SELECT id::text FROM ${schema}.serial_owned WHERE label = 'new') AS b,
              (SELECT code FROM ${schema}.text_keyed WHERE name = 'new') AS c`,
    );
    expect(ids.rows[0]).toEqual({ a: '24', b: '12', c: 'ADM000016' });
  });

  // The Data API has no COPY: its path is the SQL lines this compares COPY with.
  if (backend.name !== 'data-api')
    it('writes the very bytes by COPY that it writes by SQL lines (the Data API path)', async () => {
      const engine = engineFor(t.db, { blueprints: blueprints.catalog });
      expect((await provision(engine, 'same', 'alltypes')).record.error ?? null).toBeNull();
      await fill(t.db, 'tenant_same', SEED + 2);
      const store = new LocalFolderStore(backups.dir);
      // The same client with COPY hidden: every page goes through the SQL that builds COPY lines.
      const withoutCopy: SqlClient = {
        backend: t.db.backend,
        query: (sql, params) => t.db.query(sql, params),
        transaction: (fn) =>
          t.db.transaction((tx) =>
            fn({
              query: (sql, params) => tx.query(sql, params),
              script: (statements) => tx.script(statements),
              scriptTolerant: (statements) => tx.scriptTolerant(statements),
            }),
          ),
        close: async () => {},
      };
      const bodies = async (db: SqlClient, prefix: string) => {
        const result = await exportSchema(db, {
          schema: 'tenant_same',
          store,
          prefix,
          retention: 'expire',
          deadline: Date.now() + 600_000,
        });
        if (!result.done) throw new Error('the export did not finish');
        const out: Record<string, string> = {};
        for (const table of result.tables) {
          out[table.table] = (await Promise.all(table.parts.map((part) => store.get(part.key)))).join('');
        }
        return out;
      };
      const byCopy = await bodies(t.db, 'same-by-copy');
      const bySql = await bodies(withoutCopy, 'same-by-sql');
      expect(Object.keys(byCopy).length).toBeGreaterThan(10);
      expect(bySql).toEqual(byCopy);
    });

  // psql needs a server to connect to: this one exists on the postgres backend only.
  if (backend.name !== 'postgres') return;
  it('writes parts that psql \\copy loads without Tenantry, to the same rows', async () => {
    const engine = engineFor(t.db, { blueprints: blueprints.catalog });
    expect((await provision(engine, 'bycopy', 'alltypes')).record.error ?? null).toBeNull();
    await fill(t.db, 'tenant_bycopy', SEED + 1);
    const before = await tableDigests(t.db, 'tenant_bycopy');
    delete process.env.TENANTRY_BACKUP_SLICE_SECONDS;
    expect((await deprovisionTenant(engine, 'bycopy')).record.error ?? null).toBeNull();
    const { manifest, dir } = manifestOf((await registryRow(t.db, 'bycopy'))?.backup_location);

    // A schema of the blueprint's tables, made by the blueprint's own SQL, loaded by psql alone.
    const target = t.url as string;
    const migration = blueprints.catalog.get('alltypes').migrations[0]?.sql ?? '';
    const psql = (args: string[], input?: string) =>
      spawnSync('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-q', target, ...args], {
        input,
        encoding: 'utf8',
        env: {
          ...process.env,
          PGOPTIONS: Object.entries(COPY_SETTINGS)
            .map(([k, v]) => `-c ${k}=${v.replaceAll(' ', '\\ ')}`)
            .join(' '),
        },
      });
    const made = psql([], `CREATE SCHEMA by_psql; SET search_path = by_psql;\n${migration}`);
    expect(made.status, made.stderr).toBe(0);
    // Referenced tables first: \copy checks foreign keys row by row.
    const order = (name: string) => (name === 'children' ? 1 : 0);
    const tables = manifest.tables
      .filter((x) => x.table !== '_tenantry_migrations')
      .sort((a, b) => order(a.table) - order(b.table));
    for (const table of tables) {
      const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ');
      for (const part of table.parts) {
        const file = join(dir, part.key.split('/').slice(3).join('/'));
        const loaded = psql(['-c', `\\copy by_psql.${quoteIdent(table.table)} (${columns}) FROM '${file}'`]);
        expect(loaded.status, loaded.stderr).toBe(0);
      }
    }
    expect(await tableDigests(t.db, 'by_psql')).toEqual(before);
  });
});

describe.each(testBackends())('A school-erp tenant round-trips on $name', (backend) => {
  let t: TestDatabase;
  let backups: ReturnType<typeof backupFolder>;
  beforeAll(async () => {
    t = await backend.open();
    backups = backupFolder();
  });
  afterAll(async () => {
    await t?.close();
    backups?.dispose();
  });

  it('with students, parents and marks; a lagging sequence moves past its rows so the next insert succeeds', async () => {
    const engine = engineFor(t.db);
    expect((await provision(engine, 'school', 'school-erp')).record.error ?? null).toBeNull();
    const s = 'tenant_school';
    await t.db.query(`INSERT INTO ${s}.schools (code, name) VALUES ('S1', 'First School')`);
    // Students through their defaults: admission numbers 'ADM000001'... come from a sequence.
    await t.db.query(
      `INSERT INTO ${s}.students (school_id, first_name, last_name, gender, date_of_birth, email)
       SELECT (SELECT id FROM ${s}.schools), 'Student ' || g, E'O\\'Neil\\ttab', 'female', DATE '2012-01-01' + g, 's' || g || '@example.com'
         FROM generate_series(1, 40) g`,
    );
    // One with an explicit id past the identity sequence: the sequence lags its rows.
    await t.db.query(
      `INSERT INTO ${s}.students (id, school_id, first_name, date_of_birth) VALUES (500, (SELECT id FROM ${s}.schools), 'Late', '2011-05-05')`,
    );
    await t.db.query(
      `INSERT INTO ${s}.parents (first_name, last_name, phone) SELECT 'Parent ' || g, 'Ü' || g, '+1-555-01' || lpad(g::text, 2, '0') FROM generate_series(1, 30) g`,
    );
    await t.db.query(
      `INSERT INTO ${s}.student_parents (student_id, parent_id, relationship)
       SELECT st.id, p.id, 'guardian' FROM ${s}.students st JOIN ${s}.parents p ON p.id = st.id`,
    );
    await t.db.query(
      `INSERT INTO ${s}.academic_sessions (school_id, name, start_date, end_date) SELECT id, '2026-27', '2026-06-01', '2027-03-31' FROM ${s}.schools`,
    );
    await t.db.query(`INSERT INTO ${s}.classes (school_id, name) SELECT id, 'Grade 7' FROM ${s}.schools`);
    await t.db.query(
      `INSERT INTO ${s}.subjects (school_id, code, name) SELECT id, 'MATH', 'Mathematics' FROM ${s}.schools`,
    );
    await t.db.query(
      `INSERT INTO ${s}.exams (academic_session_id, name, exam_type, start_date, end_date)
       SELECT id, 'Midterm', 'midterm', '2026-10-01', '2026-10-10' FROM ${s}.academic_sessions`,
    );
    await t.db.query(
      `INSERT INTO ${s}.exam_schedules (exam_id, class_id, subject_id, exam_date)
       SELECT e.id, c.id, sub.id, '2026-10-02' FROM ${s}.exams e, ${s}.classes c, ${s}.subjects sub`,
    );
    await t.db.query(
      `INSERT INTO ${s}.marks (exam_schedule_id, student_id, marks_obtained, remarks)
       SELECT (SELECT id FROM ${s}.exam_schedules), st.id, (st.id % 100) + 0.25, 'good' FROM ${s}.students st`,
    );
    const before = await tableDigests(t.db, s);
    expect(before.marks).toMatch(/^41 rows/);
    expect(before.student_parents).toMatch(/^30 rows/);

    expect((await deprovisionTenant(engine, 'school')).record.error ?? null).toBeNull();
    await restoreTenant(engine, 'school');
    expect(await tableDigests(t.db, s)).toEqual(before);

    const next = await t.db.query<{ id: string; admission_no: string }>(
      `INSERT INTO ${s}.students (school_id, first_name, date_of_birth) VALUES ((SELECT id FROM ${s}.schools), 'New', '2013-03-03')
       RETURNING id::text, admission_no`,
    );
    expect(next.rows[0]).toEqual({ id: '501', admission_no: 'ADM000042' });
  });
});
