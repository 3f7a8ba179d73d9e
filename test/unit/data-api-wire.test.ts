import type { ColumnMetadata, Field } from '@aws-sdk/client-rds-data';
import { describe, expect, it } from 'vitest';
import { DatabaseError } from '../../shared/errors';
import {
  dollarTag,
  formatTimestamp,
  parseTimestamp,
  recordsToRows,
  scriptStatement,
  toleratingStatement,
  toNamedStatement,
  toSqlParameter,
} from '../../shared/sql/data-api-wire';
import { bindNamedParameters } from '../support/data-api-server';

describe('toNamedStatement: positional $n to the Data API named :pn', () => {
  it('renames parameters and sends only those referenced, each once', () => {
    const { sql, parameters } = toNamedStatement('SELECT $2::jsonb, $1, $2 WHERE x = $1::text', ['a', '{}']);
    expect(sql).toBe('SELECT :p2::jsonb, :p1, :p2 WHERE x = :p1::text');
    expect(parameters).toEqual([
      { name: 'p1', value: { stringValue: 'a' } },
      { name: 'p2', value: { stringValue: '{}' } },
    ]);
  });

  it('leaves literals, quoted identifiers, dollar-quoted bodies and comments alone', () => {
    const text = `SELECT '$1', E'\\'$1', "$1", $tag$ $1 $tag$, $$ $2 $$ -- $1
      /* $1 /* nested $1 */ */ , $1`;
    const { sql, parameters } = toNamedStatement(text, ['v']);
    expect(sql).toBe(text.replace(/, \$1$/, ', :p1'));
    expect(parameters).toHaveLength(1);
  });

  it('refuses a reference past the parameters given', () => {
    expect(() => toNamedStatement('SELECT $3', [1])).toThrow(DatabaseError);
  });

  it('types each port value as the service expects', () => {
    expect(toSqlParameter('a', null)).toEqual({ name: 'a', value: { isNull: true } });
    expect(toSqlParameter('a', true)).toEqual({ name: 'a', value: { booleanValue: true } });
    expect(toSqlParameter('a', 7_302_114_001)).toEqual({ name: 'a', value: { longValue: 7_302_114_001 } });
    expect(toSqlParameter('a', 1.5)).toEqual({ name: 'a', value: { doubleValue: 1.5 } });
    expect(toSqlParameter('a', 12n)).toEqual({ name: 'a', value: { longValue: 12 } });
    expect(toSqlParameter('a', 2n ** 63n - 1n)).toEqual({
      name: 'a',
      value: { stringValue: '9223372036854775807' },
      typeHint: 'DECIMAL',
    });
    expect(toSqlParameter('a', new Date('2026-01-02T03:04:05.006Z'))).toEqual({
      name: 'a',
      value: { stringValue: '2026-01-02 03:04:05.006' },
      typeHint: 'TIMESTAMP',
    });
  });
});

describe('recordsToRows: Data API fields back to what the pg and PGlite adapters give', () => {
  const meta = (name: string, typeName: string): ColumnMetadata => ({ name, label: name, typeName });
  const row = (fields: Field[], columns: ColumnMetadata[]) => recordsToRows([fields], columns)[0];

  it('maps every column type the registry and blueprints use', () => {
    const columns = [
      meta('n', 'text'),
      meta('i', 'int4'),
      meta('big', 'int8'),
      meta('huge', 'int8'),
      meta('id', 'bigserial'),
      meta('num', 'numeric'),
      meta('b', 'bool'),
      meta('j', 'jsonb'),
      meta('js', 'json'),
      meta('ts', 'timestamptz'),
      meta('d', 'date'),
      meta('u', 'uuid'),
      meta('f', 'float8'),
      meta('arr', '_text'),
      meta('ints', '_int8'),
      meta('bin', 'bytea'),
    ];
    const fields: Field[] = [
      { isNull: true },
      { stringValue: '42' },
      { stringValue: '7302114001' },
      { stringValue: '9223372036854775807' },
      { longValue: 5 },
      { stringValue: '12.50' },
      { booleanValue: false },
      { stringValue: '{"a":[1,null]}' },
      { stringValue: '[1]' },
      { stringValue: '2026-11-23 11:54:48.123456' },
      { stringValue: '2026-02-28' },
      { stringValue: '0b0e7a59-3d4e-4a51-9b5f-8a2f0c3c9d1e' },
      { doubleValue: 0.25 },
      { arrayValue: { stringValues: ['a', 'b'] } },
      { arrayValue: { stringValues: ['1', '9223372036854775807'] } },
      { blobValue: new Uint8Array([1, 2]) },
    ];
    expect(row(fields, columns)).toEqual({
      n: null,
      i: 42,
      big: 7302114001,
      huge: '9223372036854775807',
      id: 5,
      num: '12.50',
      b: false,
      j: { a: [1, null] },
      js: [1],
      ts: new Date('2026-11-23T11:54:48.123Z'),
      d: '2026-02-28',
      u: '0b0e7a59-3d4e-4a51-9b5f-8a2f0c3c9d1e',
      f: 0.25,
      arr: ['a', 'b'],
      ints: [1, '9223372036854775807'],
      bin: Buffer.from([1, 2]),
    });
  });

  it('reads nested arrays and prefers the column label', () => {
    expect(
      row(
        [{ arrayValue: { arrayValues: [{ longValues: [1, 2] }, { longValues: [3, 4] }] } }],
        [{ name: 'x', label: 'grid', typeName: '_int4' }],
      ),
    ).toEqual({
      grid: [
        [1, 2],
        [3, 4],
      ],
    });
  });

  it('parses timestamps as UTC, with or without an offset', () => {
    expect(parseTimestamp('2026-01-02 03:04:05')).toEqual(new Date('2026-01-02T03:04:05Z'));
    expect(parseTimestamp('2026-01-02 03:04:05.5+02')).toEqual(new Date('2026-01-02T01:04:05.5Z'));
    expect(parseTimestamp(formatTimestamp(new Date('2026-05-06T07:08:09.010Z')))).toEqual(
      new Date('2026-05-06T07:08:09.010Z'),
    );
  });
});

describe('scripts as one statement', () => {
  it('picks dollar tags that occur in none of the statements', () => {
    expect(dollarTag(['SELECT 1'], 'x')).toBe('$x$');
    expect(dollarTag(['SELECT $x$a$x$', '$x1$'], 'x')).toBe('$x2$');
  });

  it('EXECUTEs each statement inside one DO block, their own quoting untouched', () => {
    const statements = [
      "INSERT INTO t VALUES ('a;b')",
      'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql',
    ];
    const sql = scriptStatement(statements);
    expect(sql.startsWith('DO $tenantry_do$')).toBe(true);
    expect(sql).toContain("EXECUTE $tenantry_s$INSERT INTO t VALUES ('a;b')$tenantry_s$;");
    expect(sql).toContain(
      'EXECUTE $tenantry_s$CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql$tenantry_s$;',
    );
    expect(scriptStatement(['SELECT $tenantry_s$x$tenantry_s$'])).toContain(
      '$tenantry_s1$SELECT $tenantry_s$x',
    );
  });

  it('runs each tolerant statement in its own exception block and records failures by index', () => {
    const sql = toleratingStatement(['CREATE INDEX a ON t (x)', 'CREATE INDEX b ON t (y)']);
    expect(sql.match(/EXCEPTION WHEN OTHERS/g)).toHaveLength(2);
    expect(sql).toContain("jsonb_build_object('index', 1,");
    expect(sql).toContain("set_config('tenantry.script_failures', f::text, true)");
  });
});

describe('the test server binds named parameters like the service', () => {
  it('types values, keeps :: casts, literals and comments, and reuses a repeated name', () => {
    const { text, values } = bindNamedParameters(
      "SELECT :a::jsonb, ':a', :b, :a -- :a\n, :c, :d, :e, :f, :g, arr[1:2]",
      [
        { name: 'a', value: { stringValue: '{}' } },
        { name: 'b', value: { longValue: 3 } },
        { name: 'c', value: { booleanValue: true } },
        { name: 'd', value: { isNull: true } },
        { name: 'e', value: { stringValue: '2026-01-02 00:00:00' }, typeHint: 'TIMESTAMP' },
        { name: 'f', value: { doubleValue: 0.5 } },
        { name: 'g', value: { blobValue: 'AQI=' } },
      ],
    );
    expect(text).toBe(
      "SELECT $1::varchar::jsonb, ':a', $2::int8, $1::varchar -- :a\n, $3::bool, $4, $5::timestamp, $6::float8, $7::bytea, arr[1:2]",
    );
    expect(values).toEqual(['{}', '3', 't', null, '2026-01-02 00:00:00', '0.5', Buffer.from([1, 2])]);
  });

  it('refuses array parameters and missing values, as the service does', () => {
    expect(() =>
      bindNamedParameters('SELECT :a', [{ name: 'a', value: { arrayValue: { longValues: [1] } } }]),
    ).toThrow(/Array parameters are not supported/);
    expect(() => bindNamedParameters('SELECT :nope', [])).toThrow(/No value specified/);
  });
});
