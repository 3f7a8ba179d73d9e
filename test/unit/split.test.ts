import { describe, expect, it } from 'vitest';
import { codeOnly, splitSqlStatements } from '../../shared/sql/split';

describe('splitSqlStatements', () => {
  it('splits on semicolons outside literals, quoted names, dollar bodies and comments', () => {
    const script = `
-- a comment; with a semicolon
CREATE TABLE "a;b" (v text DEFAULT 'x;y');
/* block; /* nested; */ still comment */
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'a;b'; RETURN NEW; END $$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
SELECT E'it\\'s; fine', $1;
`;
    const statements = splitSqlStatements(script);
    expect(statements.map((s) => s.sql.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      'CREATE TABLE "a;b"',
      'CREATE FUNCTION f()',
      'CREATE FUNCTION g()',
      "SELECT E'it\\'s; fine',",
    ]);
    expect(statements.map((s) => s.line)).toEqual([3, 5, 6, 7]);
  });

  it('drops comment-only pieces', () => {
    expect(splitSqlStatements('-- nothing\n/* here */;\n')).toEqual([]);
  });
});

describe('codeOnly', () => {
  it('blanks literals and comments so checks see only code', () => {
    const code = codeOnly(`SELECT 'public.users' AS x -- public.users\nFROM t /* public.t */`);
    expect(code).not.toMatch(/public\./);
    expect(code).toMatch(/SELECT/);
  });
});
