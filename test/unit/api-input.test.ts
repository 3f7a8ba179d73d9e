import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler as getTenant } from '../../functions/api/get-tenant';
import { handler as listTenants } from '../../functions/api/list-tenants';
import { handler as startTenant } from '../../functions/api/start-tenant';
import { type HttpEvent, type HttpResult, problemFor } from '../../shared/api/http';
import { MAX_BODY_BYTES, readJsonBody } from '../../shared/api/input';
import { ProblemSchema } from '../../shared/api/responses';
import { BlueprintCatalog } from '../../shared/blueprint';
import type { WorkflowEngine } from '../../shared/engine/port';
import {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  SchemaNameTakenError,
  TenantBusyError,
  TenantExistsError,
  ValidationError,
} from '../../shared/errors';
import { type Runtime, withRuntime } from '../../shared/runtime';
import type { SqlClient } from '../../shared/sql/port';
import { TemplateStore } from '../../shared/templates/store';
import {
  assertStorableJson,
  jsonProblems,
  MAX_INPUT_ISSUES,
  MAX_JSON_DEPTH,
  printable,
  textProblem,
} from '../../shared/validation';

/** `depth` arrays, one inside the other, around 1: built as text, since JSON.parse copes with any depth. */
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('it did not throw');
}

describe('textProblem', () => {
  it('accepts any well-formed text, astral characters included', () => {
    for (const ok of ['', 'acme', 'Ünïcødé', '日本語', '😀 emoji (a surrogate pair)', '\t\n', '\u007f']) {
      expect(textProblem(ok), JSON.stringify(ok)).toBeUndefined();
    }
  });

  it('refuses a NUL anywhere in the text', () => {
    for (const bad of ['\u0000', 'a\u0000', '\u0000b', 'a\u0000b']) {
      expect(textProblem(bad)).toBe('must not contain a NUL character (U+0000)');
    }
  });

  it('refuses a lone high or low surrogate, and a pair in the wrong order', () => {
    for (const bad of ['\ud800', 'a\ud800b', '\udc00', 'x\udfff', '\udc00\ud800', '😀'.slice(0, 1)]) {
      expect(textProblem(bad), JSON.stringify(bad)).toBe('is not valid Unicode: it holds a lone surrogate');
    }
  });
});

describe('printable', () => {
  it('escapes NUL, control characters and lone surrogates, and cuts a long segment', () => {
    expect(printable('a\u0000b')).toBe('a\\u0000b');
    expect(printable('x\ud800')).toBe('x\\ud800');
    expect(printable('😀')).toBe('😀');
    expect(printable('k'.repeat(100))).toBe(`${'k'.repeat(60)}...`);
  });
});

describe('jsonProblems', () => {
  it(`accepts nesting up to ${MAX_JSON_DEPTH} levels and names the path where it goes deeper`, () => {
    expect(jsonProblems(JSON.parse(nested(MAX_JSON_DEPTH)))).toEqual([]);
    expect(jsonProblems(JSON.parse(nested(MAX_JSON_DEPTH + 1)))).toEqual([
      {
        field: Array(MAX_JSON_DEPTH).fill('0').join('.'),
        reason: `nests deeper than ${MAX_JSON_DEPTH} levels`,
      },
    ]);
    expect(jsonProblems({ a: { b: 1 } }, '(body)', 2)).toEqual([]);
    expect(jsonProblems({ a: { b: {} } }, '(body)', 2)).toEqual([
      { field: 'a.b', reason: 'nests deeper than 2 levels' },
    ]);
    expect(jsonProblems([], '(body)', 0)).toEqual([
      { field: '(body)', reason: 'nests deeper than 0 levels' },
    ]);
  });

  it('walks 20,000 levels without recursion (no stack overflow)', () => {
    const deep = JSON.parse(`{"x":${nested(20_000)}}`);
    const issues = jsonProblems(deep);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.reason).toBe(`nests deeper than ${MAX_JSON_DEPTH} levels`);
    expect(issues[0]?.field.startsWith('x.0.0')).toBe(true);
  });

  it('finds NUL and lone surrogates in strings at any depth, in arrays and in object keys', () => {
    const value = JSON.parse(
      '{"displayName":"a\\u0000","ok":"fine","initialData":[{"rows":[{"name":"\\ud800"}]}],' +
        '"set\\u0000tings":{},"deep":{"k\\udc00":1},"list":["x","\\u0000"]}',
    );
    expect(jsonProblems(value)).toEqual([
      { field: 'displayName', reason: 'must not contain a NUL character (U+0000)' },
      { field: 'initialData.0.rows.0.name', reason: 'is not valid Unicode: it holds a lone surrogate' },
      { field: 'set\\u0000tings', reason: '(a field name) must not contain a NUL character (U+0000)' },
      { field: 'deep.k\\udc00', reason: '(a field name) is not valid Unicode: it holds a lone surrogate' },
      { field: 'list.1', reason: 'must not contain a NUL character (U+0000)' },
    ]);
  });

  it('names the root when the whole value is a bad string, and stops counting at a bound', () => {
    expect(jsonProblems('\u0000')).toEqual([{ field: '(input)', reason: expect.stringMatching(/NUL/) }]);
    expect(jsonProblems(Array(1000).fill('\u0000'))).toHaveLength(MAX_INPUT_ISSUES);
  });
});

describe('readJsonBody', () => {
  it('parses a body as text or base64, and gives undefined for an empty one', () => {
    expect(readJsonBody('{"a":[1,"b"]}')).toEqual({ a: [1, 'b'] });
    expect(readJsonBody(Buffer.from('{"é":"😀"}').toString('base64'), true)).toEqual({ é: '😀' });
    expect(readJsonBody(undefined)).toBeUndefined();
    expect(readJsonBody('')).toBeUndefined();
  });

  it(`refuses a body over ${MAX_BODY_BYTES} bytes with a 413 naming the body, counting bytes not characters`, () => {
    const atLimit = `"${'a'.repeat(MAX_BODY_BYTES - 2)}"`;
    expect(readJsonBody(atLimit)).toHaveLength(MAX_BODY_BYTES - 2);
    const error = thrown(() => readJsonBody(`"${'é'.repeat(MAX_BODY_BYTES / 2)}"`));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toMatchObject({
      name: 'PayloadTooLargeError',
      status: 413,
      fields: [
        {
          field: '(body)',
          reason: `is ${MAX_BODY_BYTES + 2} bytes; at most ${MAX_BODY_BYTES} bytes are accepted`,
        },
      ],
    });
    const base64 = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20).toString('base64');
    expect(thrown(() => readJsonBody(base64, true))).toBeInstanceOf(PayloadTooLargeError);
  });

  it('refuses bytes that are not UTF-8, text that is not JSON, and bad values inside valid JSON', () => {
    const notUtf8 = Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]).toString('base64');
    expect(thrown(() => readJsonBody(notUtf8, true))).toMatchObject({
      status: 400,
      fields: [{ field: '(body)', reason: 'is not valid UTF-8 text' }],
    });
    expect(thrown(() => readJsonBody('{"a":'))).toMatchObject({
      fields: [{ field: '(body)', reason: 'is not valid JSON' }],
    });
    expect(thrown(() => readJsonBody(`{"a":${nested(20_000)}}`))).toBeInstanceOf(ValidationError);
    expect(thrown(() => readJsonBody('{"a":"\\ud800"}'))).toMatchObject({
      fields: [{ field: 'a', reason: 'is not valid Unicode: it holds a lone surrogate' }],
    });
  });
});

describe('the handlers refuse bad input before they touch the database', () => {
  const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
  /** Every database call fails: a route that reached the database would answer 500. */
  const db = {
    backend: 'postgres',
    query: async () => {
      throw new Error('the database was reached');
    },
    transaction: async () => {
      throw new Error('the database was reached');
    },
    close: async () => {},
  } as unknown as SqlClient;
  const rt: Runtime = { db, blueprints: new BlueprintCatalog(), engine: {} as WorkflowEngine };
  const event = (overrides: Partial<HttpEvent>): HttpEvent => ({
    version: '2.0',
    routeKey: 'GET /tenants/{tenantId}',
    rawPath: '/tenants/acme',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: { requestId: 'req-1' } as HttpEvent['requestContext'],
    ...overrides,
  });
  const call = async (h: typeof getTenant, e: HttpEvent) => {
    const result = (await withRuntime(rt, () => h(e, context))) as HttpResult;
    return { status: result.statusCode, problem: ProblemSchema.parse(JSON.parse(result.body ?? '')) };
  };

  it('a NUL or a lone surrogate in a path parameter, already decoded or percent-encoded', async () => {
    for (const [tenantId, reason] of [
      ['%00', /NUL/],
      ['a\u0000b', /NUL/],
      ['\ud800', /lone surrogate/],
      ['%ED%A0%80', /URL-encoded/],
    ] as const) {
      const { status, problem } = await call(getTenant, event({ pathParameters: { tenantId } }));
      expect(status).toBe(400);
      expect(problem.errors).toEqual([{ field: 'tenantId', reason: expect.stringMatching(reason) }]);
    }
  });

  it('a NUL in a query value or a query parameter name', async () => {
    for (const [query, field] of [
      [{ nextToken: 'a\u0000' }, 'nextToken'],
      [{ 'st\u0000atus': 'active' }, 'st\\u0000atus'],
    ] as const) {
      const { status, problem } = await call(
        listTenants,
        event({ routeKey: 'GET /tenants', queryStringParameters: query }),
      );
      expect(status).toBe(400);
      expect(problem.errors?.[0]?.field).toBe(field);
    }
  });

  it('a template with a NUL, given to the store directly (as the CLI does), is refused before the database', async () => {
    const store = new TemplateStore(db, new BlueprintCatalog());
    const definition = {
      name: 'Nul Template',
      category: 'basic' as const,
      blueprint: 'docex',
      blueprintVersion: 1,
      initialData: [{ table: 'roles', rows: [{ name: 'a\u0000' }] }],
    };
    await expect(store.create(definition, 'cli')).rejects.toMatchObject({
      name: 'ValidationError',
      fields: [{ field: 'initialData.0.rows.0.name', reason: 'must not contain a NUL character (U+0000)' }],
    });
    expect(() => assertStorableJson({ k: ['\ud800'] })).toThrow('k.0: is not valid Unicode');
    expect(() => assertStorableJson({ k: ['fine'] })).not.toThrow();
  });

  it('a body too large (413), too deep, or with a NUL in a nested string (400)', async () => {
    const start = (body: string) => call(startTenant, event({ routeKey: 'POST /tenants', body }));
    const large = await start(JSON.stringify({ tenantId: 'acme', displayName: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(large.status).toBe(413);
    expect(large.problem).toMatchObject({ title: 'Content Too Large', errors: [{ field: '(body)' }] });
    const deep = await start(`{"tenantId":"acme","displayName":"Acme","blueprint":${nested(20_000)}}`);
    expect(deep.status).toBe(400);
    expect(JSON.stringify(deep.problem)).not.toMatch(/call stack/i);
    const nul = await start(
      JSON.stringify({
        tenantId: 'acme',
        displayName: 'Acme',
        adminUser: { email: 'a@b.co', name: 'A\u0000' },
      }),
    );
    expect(nul.status).toBe(400);
    expect(nul.problem.errors).toEqual([{ field: 'adminUser.name', reason: expect.stringMatching(/NUL/) }]);
  });
});

describe('problemFor names a field for every 4xx', () => {
  it("names the error's own field, else the route's resource, else the request", () => {
    const errors = (e: unknown, field?: string) => problemFor(e, 'req-1', field).errors;
    expect(errors(new NotFoundError("no template 'x'"), 'templateId')).toEqual([
      { field: 'templateId', reason: "no template 'x'" },
    ]);
    expect(errors(new TenantExistsError("tenant 'a' already exists"), 'executionId')).toEqual([
      { field: 'tenantId', reason: "tenant 'a' already exists" },
    ]);
    expect(errors(new TenantBusyError('a', 'arn:x'))?.[0]?.field).toBe('tenantId');
    expect(errors(new SchemaNameTakenError('a_b', 'tenant_a_b', 'a-b'))).toEqual([
      {
        field: 'tenantId',
        reason: "tenant id 'a_b' maps to schema tenant_a_b, which tenant 'a-b' already has",
      },
    ]);
    expect(errors(new ConflictError('taken', { field: 'name' }))?.[0]?.field).toBe('name');
    expect(errors(new ConflictError('no field'))?.[0]?.field).toBe('(request)');
    expect(problemFor(new PayloadTooLargeError([{ field: '(body)', reason: 'big' }]))).toMatchObject({
      status: 413,
      title: 'Content Too Large',
      errors: [{ field: '(body)', reason: 'big' }],
    });
    // A 5xx still says nothing: no field, no message.
    expect(problemFor(new Error('secret'), 'req-1', 'tenantId')).not.toHaveProperty('errors');
  });
});
