import { describe, expect, it } from 'vitest';
import { codeOnly, splitPsqlScript, splitSqlStatements, tokenize } from '../../shared/sql/split';

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

describe('splitPsqlScript', () => {
  it('reads meta-commands between statements and the data of COPY FROM stdin, with lines', () => {
    const script = [
      '\\restrict abc',
      'SET x = 1;',
      'COPY t (a, b) FROM stdin;',
      '1\t\\N',
      'a;b\tc',
      '\\.',
      "SELECT ';\\.';",
      '\\unrestrict abc',
    ].join('\n');
    const items = splitPsqlScript(script);
    expect(items.map((i) => [i.kind, i.line, i.sql])).toEqual([
      ['meta', 1, '\\restrict abc'],
      ['statement', 2, 'SET x = 1'],
      ['statement', 3, 'COPY t (a, b) FROM stdin'],
      ['statement', 7, "SELECT ';\\.'"],
      ['meta', 8, '\\unrestrict abc'],
    ]);
    expect(items[2]?.copyData).toEqual([
      { line: 4, text: '1\t\\N' },
      { line: 5, text: 'a;b\tc' },
    ]);
    expect(script.slice(items[2]?.start, items[2]?.end)).toBe(
      'COPY t (a, b) FROM stdin;\n1\t\\N\na;b\tc\n\\.\n',
    );
  });
});

describe('tokenize', () => {
  it('tells names, qualifiers, literals and bodies apart', () => {
    const tokens = tokenize(
      `SELECT "Public".x, public . y, E'it\\'s', 'a''b'::regclass, $f$ public.z $f$, 1.5e3 -- public.c\nFROM t`,
    );
    expect(tokens.map((t) => `${t.kind}:${t.value}`)).toEqual([
      'ident:select',
      'quoted:Public',
      'op:.',
      'ident:x',
      'op:,',
      'ident:public',
      'op:.',
      'ident:y',
      'op:,',
      "string:it's",
      'op:,',
      "string:a'b",
      'op:::',
      'ident:regclass',
      'op:,',
      'dollar: public.z ',
      'op:,',
      'number:1.5e3',
      'ident:from',
      'ident:t',
    ]);
  });
});
