import { afterEach, describe, expect, it } from 'vitest';
import { BlueprintCatalog } from '../../shared/blueprint';
import { BlueprintError, ValidationError } from '../../shared/errors';
import { blueprintSandbox } from '../support/blueprints';

describe('shipped blueprints', () => {
  const catalog = new BlueprintCatalog();

  it('are school-erp and docex, each locked at its current version', () => {
    expect(catalog.names()).toEqual(['docex', 'school-erp']);
    for (const name of catalog.names()) {
      const bp = catalog.get(name);
      const lock = bp.lock[String(bp.version)];
      expect(lock, `${name} lock`).toBeDefined();
      expect(lock?.migrations).toEqual(Object.fromEntries(bp.migrations.map((m) => [m.name, m.checksum])));
    }
  });

  it('school-erp has the 51 tables of the brief', () => {
    const lock = catalog.get('school-erp').lock['1'];
    const tables = lock?.objects.filter((o) => o.startsWith('table ')).map((o) => o.slice(6)) ?? [];
    expect(tables).toHaveLength(51);
    expect(tables).toEqual(
      expect.arrayContaining(['roles', 'users', 'grade_sheets', 'session_lock_logs', 'enrollments']),
    );
  });

  it('an unknown blueprint is a validation error on the blueprint field', () => {
    expect(() => catalog.get('nope')).toThrow(ValidationError);
    expect(() => catalog.get('../etc')).toThrow(/unknown blueprint/);
  });
});

describe('blueprint rules', () => {
  let sandbox: ReturnType<typeof blueprintSandbox> | undefined;
  afterEach(() => sandbox?.dispose());

  it.each([
    ['SET search_path TO public;', /search_path changes/],
    ["SELECT pg_catalog.set_config('search_path', '', false);", /search_path changes/],
    ['CREATE TABLE public.x (id int);', /'public\.' schema qualifier/],
    ['BEGIN;', /transaction control/],
    ['CREATE EXTENSION pgcrypto;', /extensions/],
    ['CREATE SCHEMA other;', /CREATE SCHEMA/],
    ['CREATE INDEX CONCURRENTLY i ON processors (id);', /CONCURRENTLY/],
    ['ALTER TABLE processors OWNER TO app;', /OWNER TO/],
  ])('refuses a migration containing %j with the file and line', (statement, reason) => {
    sandbox = blueprintSandbox();
    sandbox.edit('docex/migrations/0001_init.sql', (s) => `${s}\n${statement}\n`);
    expect(() => sandbox?.catalog().get('docex')).toThrow(BlueprintError);
    expect(() => sandbox?.catalog().get('docex')).toThrow(reason);
    expect(() => sandbox?.catalog().get('docex')).toThrow(/docex\/migrations\/0001_init\.sql line \d+/);
  });

  it('does not mistake text inside literals or comments for forbidden statements', () => {
    sandbox = blueprintSandbox();
    sandbox.edit(
      'docex/migrations/0001_init.sql',
      (s) =>
        `${s}\n-- SET search_path TO public;\nCOMMENT ON TABLE processors IS 'public.x is not a qualifier';\n`,
    );
    expect(sandbox.catalog().get('docex').migrations[0]?.sql).toContain('COMMENT ON TABLE');
  });

  it('refuses an index that is not CREATE INDEX IF NOT EXISTS', () => {
    sandbox = blueprintSandbox();
    sandbox.edit('docex/indexes.sql', (s) => `${s}\nCREATE INDEX idx_x ON processors (id);\n`);
    expect(() => sandbox?.catalog().get('docex')).toThrow(/expected 'CREATE INDEX IF NOT EXISTS/);
  });

  it('refuses seed rows with unsafe column names', () => {
    sandbox = blueprintSandbox();
    sandbox.edit('docex/seed.json', (s) =>
      s.replace('"tables": [', '"tables": [{"table": "processors", "rows": [{"x\\u0000": 1}]},'),
    );
    expect(() => sandbox?.catalog().get('docex')).toThrow(/NUL/);
  });
});
