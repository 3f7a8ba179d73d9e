import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as errors from '../../shared/errors';
import {
  ERROR_CATALOGUE,
  type ErrorName,
  type TenantryError,
  TRANSIENT_ERROR_NAMES,
} from '../../shared/errors';
import { FROM_CONTROL_ERROR, mapControlError } from '../../shared/registry/control';
import { RETRYABLE_ERRORS } from '../../statemachine/retry';

const REGISTRY = fileURLToPath(new URL('../../shared/registry/', import.meta.url));

/** One instance of every error class shared/errors.ts exports. */
function everyError(mod: Record<string, unknown>): TenantryError[] {
  const base = mod.TenantryError as abstract new (...args: never[]) => TenantryError;
  return Object.values(mod)
    .filter(
      (v): v is new (...args: unknown[]) => TenantryError =>
        typeof v === 'function' && v.prototype instanceof base,
    )
    .map((Ctor) => {
      if (Ctor === mod.ValidationError || Ctor === mod.PayloadTooLargeError)
        return new Ctor([{ field: 'f', reason: 'r' }]);
      if (Ctor === mod.TenantBusyError) return new Ctor('acme', 'exec-1');
      if (Ctor === mod.SchemaNameTakenError) return new Ctor('a_b', 'tenant_a_b', 'a-b');
      if (Ctor === mod.VerificationError) return new Ctor('m', [], []);
      return new Ctor('message');
    });
}

describe('the error catalogue', () => {
  it('has one class per entry, named by a literal, with the status and retryability the catalogue gives', () => {
    const all = everyError(errors as unknown as Record<string, unknown>);
    expect(all.map((e) => e.name).sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
    for (const e of all) {
      const spec = ERROR_CATALOGUE[e.name] as { status: number; retryable?: boolean };
      expect(e.status, e.name).toBe(spec.status);
      expect(e.retryable, e.name).toBe(spec.retryable === true);
    }
  });

  it("gives the workflow's Retry list its retryable errors, and nothing else of ours", () => {
    expect(TRANSIENT_ERROR_NAMES).toEqual(['TransientDatabaseError']);
    const ours = RETRYABLE_ERRORS.filter((n) => !n.startsWith('Lambda.'));
    expect(ours).toEqual([...TRANSIENT_ERROR_NAMES]);
  });

  it('maps every Tenantry SQLSTATE the control SQL raises, the owner of a busy tenant read from DETAIL', () => {
    const sources = [
      ...readdirSync(join(REGISTRY, 'sql', 'migrations')).map((f) => join(REGISTRY, 'sql', 'migrations', f)),
      ...readdirSync(join(REGISTRY, 'sql', 'functions')).map((f) => join(REGISTRY, 'sql', 'functions', f)),
    ];
    const raised = new Set(
      sources.flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/ERRCODE = '(TY\d{3})'/g)].map((m) => m[1]),
      ),
    );
    const catalogued = Object.entries(ERROR_CATALOGUE).flatMap(([name, s]) =>
      ((s as { sqlstates?: readonly string[] }).sqlstates ?? []).map(
        (code) => [code, name as ErrorName] as const,
      ),
    );
    expect([...raised].sort()).toEqual(catalogued.map(([code]) => code).sort());
    for (const [code, name] of catalogued) {
      expect(FROM_CONTROL_ERROR[name], name).toBeTypeOf('function');
      const mapped = mapControlError(
        new errors.DatabaseError(`tenant acme is held by execution x (status y)`, code, {
          detail: 'exec-42',
        }),
        'acme',
      ) as TenantryError;
      expect(mapped.name, code).toBe(name);
    }
    const busy = mapControlError(
      new errors.DatabaseError('tenant acme is being provisioned by execution some-other-words', 'TY001', {
        detail: 'exec-42',
      }),
      'acme',
    );
    expect(busy).toMatchObject({ name: 'TenantBusyError', ownerExecutionId: 'exec-42' });
  });

  it('keeps every name through a minifying bundle that renames classes (keepNames off)', async () => {
    const out = await build({
      entryPoints: [fileURLToPath(new URL('../../shared/errors.ts', import.meta.url))],
      bundle: true,
      minify: true,
      keepNames: false,
      format: 'esm',
      platform: 'node',
      write: false,
    });
    const code = out.outputFiles[0]?.text ?? '';
    const bundled = (await import(
      `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`
    )) as Record<string, unknown>;
    // The classes' own names are gone (minified), the errors' names are not.
    const classNames = Object.values(bundled)
      .filter((v): v is { name: string } => typeof v === 'function')
      .map((v) => v.name);
    expect(classNames).not.toContain('TransientDatabaseError');
    const names = everyError(bundled)
      .map((e) => e.name)
      .sort();
    expect(names).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  });
});
