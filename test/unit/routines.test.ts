import { afterEach, describe, expect, it } from 'vitest';
import { routineReportLines } from '../../shared/blueprint-lock';
import { BlueprintError } from '../../shared/errors';
import { blueprintSandbox } from '../support/blueprints';

describe('blueprint.json securityDefiner', () => {
  let sandbox: ReturnType<typeof blueprintSandbox> | undefined;
  afterEach(() => sandbox?.dispose());

  const declare = (securityDefiner: unknown) => {
    sandbox = blueprintSandbox();
    sandbox.edit('docex/blueprint.json', (s) => JSON.stringify({ ...JSON.parse(s), securityDefiner }));
    return sandbox.catalog();
  };

  it('is read as name(identity arguments) and defaults to none', () => {
    expect(declare(['secret_of(p_id integer)', 'touch()']).get('docex').securityDefiner).toEqual([
      'secret_of(p_id integer)',
      'touch()',
    ]);
    sandbox?.dispose();
    sandbox = blueprintSandbox();
    expect(sandbox.catalog().get('docex').securityDefiner).toEqual([]);
  });

  it.each([[['secret_of']], [['Secret_Of()']], ['secret_of()'], [[42]]])(
    'refuses %j, naming the field',
    (value) => {
      const catalog = declare(value);
      expect(() => catalog.get('docex')).toThrow(BlueprintError);
      expect(() => catalog.get('docex')).toThrow(/blueprint\.json: securityDefiner/);
    },
  );
});

describe('the routine report of blueprint lock', () => {
  it('counts each action and prints one line per routine', () => {
    expect(
      routineReportLines([
        { routine: 'item_names()', kind: 'function', language: 'plpgsql', action: 'pinned' },
        { routine: 'kept()', kind: 'function', language: 'sql', action: 'from-current' },
        {
          routine: 'secret_of(p_id integer)',
          kind: 'function',
          language: 'plpgsql',
          action: 'definer',
          owner: 'x_role_12345678',
        },
        { routine: 'text_length(text)', kind: 'function', language: 'internal', action: 'skipped' },
      ]),
    ).toEqual([
      'routines: 4 (1 pinned, 1 FROM CURRENT, 1 SECURITY DEFINER, 1 skipped)',
      '  function item_names() [plpgsql]: pinned: search_path = <tenant schema>, pg_temp',
      '  function kept() [sql]: kept: search_path FROM CURRENT (the tenant schema)',
      "  function secret_of(p_id integer) [plpgsql]: declared SECURITY DEFINER: pinned, owned by the tenant's role",
      '  function text_length(text) [internal]: left as it is: not sql or plpgsql',
    ]);
    expect(routineReportLines([])).toEqual(['routines: none']);
  });
});
