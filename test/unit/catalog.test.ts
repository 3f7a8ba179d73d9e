import { describe, expect, it } from 'vitest';
import {
  catalogKey,
  diffCatalog,
  fingerprintOf,
  unqualifyView,
  withoutDefinerGrants,
} from '../../shared/catalog';

describe('catalogKey', () => {
  it.each([
    ['column t.c text not null', 'column t.c'],
    ['function f(a integer, b text) returns text language sql', 'function f(a integer, b text)'],
    ['grant f(a integer)@public -EXECUTE', 'grant f(a integer)@public'],
    ['table "my table" rls', 'table "my table"'],
    ['table t', 'table t'],
  ])('%s -> %s', (line, key) => {
    expect(catalogKey(line)).toBe(key);
  });
});

describe('diffCatalog', () => {
  it('pairs a missing and an unexpected line of one object as changed', () => {
    const diff = diffCatalog(
      ['table a', 'trigger a.t CREATE TRIGGER t', 'column a.x int'],
      ['table a', 'trigger a.t CREATE TRIGGER t disabled', 'column a.y int'],
    );
    expect(diff).toEqual({
      missing: ['column a.x int'],
      unexpected: ['column a.y int'],
      changed: [
        {
          key: 'trigger a.t',
          expected: 'trigger a.t CREATE TRIGGER t',
          actual: 'trigger a.t CREATE TRIGGER t disabled',
        },
      ],
    });
  });
});

describe('withoutDefinerGrants: a lock made before release 9, as the catalog reads today', () => {
  const today = ['column items.id integer not null', 'grant items@reporting SELECT', 'table items'];

  it("leaves out the grants to the schema's definer role, and sums the rest again", () => {
    const before = [
      'column items.id integer not null',
      'grant items@<definer> DELETE, INSERT, SELECT, UPDATE',
      'grant items@reporting SELECT',
      'grant secret_of(p_id integer)@<definer> EXECUTE',
      'table items',
    ];
    const lock = {
      fingerprint: fingerprintOf(before),
      migrations: { '0001_init.sql': 'x' },
      objects: before,
    };
    expect(withoutDefinerGrants(lock)).toEqual({
      fingerprint: fingerprintOf(today),
      migrations: { '0001_init.sql': 'x' },
      objects: today,
    });
  });

  it('returns a lock without such grants as it is', () => {
    const lock = { fingerprint: 'as recorded', objects: today };
    expect(withoutDefinerGrants(lock)).toBe(lock);
  });
});

/** pg_get_viewdef on Postgres 15 (left) and 18 (right), whitespace collapsed. */
describe('unqualifyView: 15 and 18 print the same view the same way after it', () => {
  it.each([
    ['SELECT t.a, t.b FROM t WHERE (t.a > 1);', 'SELECT a, b FROM t WHERE (a > 1);'],
    ["SELECT x.a FROM t x WHERE (x.b = 'q'::text);", "SELECT a FROM t x WHERE (b = 'q'::text);"],
    [
      "SELECT s.a FROM ( SELECT t.a FROM t WHERE (t.b > 'a'::text)) s;",
      "SELECT a FROM ( SELECT t.a FROM t WHERE (t.b > 'a'::text)) s;",
    ],
    [
      'SELECT t.a FROM t WHERE (t.a IN ( SELECT u.a FROM u));',
      'SELECT a FROM t WHERE (a IN ( SELECT u.a FROM u));',
    ],
    ['SELECT t.a, u.c FROM t, u WHERE (t.a = u.a);', 'SELECT t.a, u.c FROM t, u WHERE (t.a = u.a);'],
    [
      'SELECT t.a, count(*) AS count FROM t GROUP BY t.a HAVING (count(*) > 1) ORDER BY t.a;',
      'SELECT a, count(*) AS count FROM t GROUP BY a HAVING (count(*) > 1) ORDER BY a;',
    ],
  ])('%s', (v15, v18) => {
    expect(unqualifyView(v15)).toBe(v18);
    expect(unqualifyView(v18)).toBe(v18);
  });

  it('leaves a literal that looks like a qualifier alone', () => {
    expect(unqualifyView("SELECT t.a FROM t WHERE (t.b = 't.x'::text);")).toBe(
      "SELECT a FROM t WHERE (b = 't.x'::text);",
    );
  });
});
