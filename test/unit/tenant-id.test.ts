import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors';
import { assertIdentifier, quoteIdent, quoteLiteral } from '../../shared/identifiers';
import { assertTenantId, schemaNameFor, TENANT_ID_MAX, tenantIdProblem } from '../../shared/tenant-id';

describe('tenant ids', () => {
  it.each(['acme', 'acme-corp', 'acme_corp', 'a1b', 'x'.repeat(TENANT_ID_MAX), 'school-district-42'])(
    'accepts %s',
    (id) => {
      expect(tenantIdProblem(id)).toBeUndefined();
    },
  );

  it.each([
    ['ab', /too short/],
    ['x'.repeat(TENANT_ID_MAX + 1), /41 characters long/],
    ['Acme', /lowercase/],
    ['-acme', /starts with a letter/],
    ['acme-', /ends with a letter or digit/],
    ['ac__me', /doubled separators/],
    ['acme.corp', /not allowed/],
    ['public', /reserved name/],
    ['tenantry', /reserved name/],
    ['pg_toast', /belong to Postgres/],
    ['pg-acme', /belong to Postgres/],
  ])('refuses %j, saying why', (id, reason) => {
    expect(tenantIdProblem(id)).toMatch(reason);
    expect(() => assertTenantId(id)).toThrow(ValidationError);
  });

  it('refuses non-strings', () => {
    expect(tenantIdProblem(42)).toBe('must be a string');
  });

  it('derives a schema name that fits Postgres identifiers and needs no quoting', () => {
    expect(schemaNameFor('acme-corp')).toBe('tenant_acme_corp');
    const longest = schemaNameFor('x'.repeat(TENANT_ID_MAX));
    expect(Buffer.byteLength(longest)).toBeLessThanOrEqual(63);
    expect(longest).toMatch(/^[a-z_][a-z0-9_]*$/);
  });

  it('validation errors name the field', () => {
    try {
      assertTenantId('A');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).fields).toEqual([
        { field: 'tenantId', reason: expect.stringContaining('too short') },
      ]);
    }
  });
});

describe('identifier quoting', () => {
  it('quotes identifiers and escapes embedded quotes', () => {
    expect(quoteIdent('users')).toBe('"users"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
  });

  it('refuses identifiers Postgres would truncate or cannot hold', () => {
    expect(() => quoteIdent('x'.repeat(64))).toThrow(/64 bytes; Postgres identifiers hold at most 63/);
    expect(() => quoteIdent('é'.repeat(32))).toThrow(/64 bytes/);
    expect(() => quoteIdent('')).toThrow(ValidationError);
    expect(() => assertIdentifier('a\u0000b')).toThrow(/NUL/);
  });

  it('quotes literals', () => {
    expect(quoteLiteral("o'brien")).toBe("'o''brien'");
  });
});
