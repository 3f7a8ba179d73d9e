import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { type ApiServer, GATEWAY_MAX_BODY_BYTES, startApiServer } from '../../local/server';
import { MAX_BODY_BYTES } from '../../shared/api/input';
import type { ExecutionResponse, Problem, StartedExecutionResponse } from '../../shared/api/responses';
import { BlueprintCatalog } from '../../shared/blueprint';
import { type TestDatabase, testBackends } from '../support/databases';

/** The bad inputs of issue 9 (item 6), each sent to the real local server: a 4xx naming the field. */

const backends = testBackends().filter((b) => b.name !== 'data-api');

describe.each(backends)('bad input over HTTP, on $name', (backend) => {
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  const docexVersion = new BlueprintCatalog().get('docex').version;
  const template = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    category: 'basic',
    blueprint: 'docex',
    blueprintVersion: docexVersion,
    ...extra,
  });

  beforeAll(async () => {
    t = await backend.open();
    api = await startApiServer({ db: t.db, engine: { retryDelayMs: 0 }, schedulerIntervalMs: 0 });
    http = new ApiClient(api.url);
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
  });

  async function count(table: string, where = 'true', params: string[] = []): Promise<number> {
    const { rows } = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tenantry.${table} WHERE ${where}`,
      params,
    );
    return rows[0]?.n ?? -1;
  }

  async function send(method: string, path: string, body?: string | Buffer) {
    const res = await fetch(`${api.url}${path}`, { method, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      text,
      problem: JSON.parse(text) as Problem,
    };
  }

  it('refuses a tenant id whose schema name another tenant has with a 409 naming tenantId, starting nothing', async () => {
    const created = await http.post<{ templateId: string }>('/templates', template('Collision Base'));
    expect(created.status).toBe(201);
    // A 409 names its field too: here, the template's name.
    const again = await http.post<Problem>('/templates', template('Collision Base'));
    expect(again.status).toBe(409);
    expect(again.body.errors?.map((e) => e.field)).toEqual(['name']);
    const first = await http.post<StartedExecutionResponse>('/tenants', {
      tenantId: 'abc-d',
      displayName: 'ABC D',
      blueprint: 'docex',
    });
    expect(first.status).toBe(202);
    for (let i = 0; ; i++) {
      const e = await http.get<ExecutionResponse>(first.body.statusUrl);
      if (e.body.status !== 'RUNNING') break;
      if (i > 3000) throw new Error('abc-d did not finish');
      await new Promise((r) => setTimeout(r, 10));
    }
    const executions = await count('executions');

    for (const [path, body] of [
      ['/tenants', { tenantId: 'abc_d', displayName: 'ABC underscore D', blueprint: 'docex' }],
      [
        `/templates/${created.body.templateId}/provision`,
        { tenantId: 'abc_d', displayName: 'ABC underscore D' },
      ],
    ] as const) {
      const res = await http.post<Problem>(path, body);
      expect(res.status, path).toBe(409);
      expect(res.body.errors).toEqual([
        {
          field: 'tenantId',
          reason: "tenant id 'abc_d' maps to schema tenant_abc_d, which tenant 'abc-d' already has",
        },
      ]);
    }
    expect(await count('executions')).toBe(executions);
    expect(await count('executions', 'tenant_id = $1', ['abc_d'])).toBe(0);
    expect(await count('tenants', 'tenant_id = $1', ['abc_d'])).toBe(0);
    // The tenant that has the schema is untouched, and asking for it again is still idempotent.
    expect((await http.get<{ status: string }>('/tenants/abc-d')).body.status).toBe('active');
  });

  it('answers NUL and lone surrogates in paths, queries, strings and keys at any depth with a 400, storing nothing', async () => {
    const templates = await count('templates');
    const tenants = await count('tenants');
    const cases: [string, string, string | undefined, string][] = [
      ['GET', '/tenants/%00', undefined, 'tenantId'],
      ['GET', '/templates/a%00b', undefined, 'templateId'],
      ['GET', '/executions/x%00/history', undefined, 'executionId'],
      ['GET', '/tenants?nextToken=%00', undefined, 'nextToken'],
      ['GET', '/tenants/abc-d/executions?nextToken=a%00', undefined, 'nextToken'],
      [
        'POST',
        '/tenants',
        '{"tenantId":"nul-one","displayName":"a\\u0000b","blueprint":"docex"}',
        'displayName',
      ],
      ['POST', '/tenants', '{"tenantId":"nul-one","displayName":"x","requestedBy":"\\ud800"}', 'requestedBy'],
      [
        'POST',
        '/templates',
        JSON.stringify(
          template('Nul Rows', { initialData: [{ table: 'roles', rows: [{ name: 'a\u0000' }] }] }),
        ),
        'initialData.0.rows.0.name',
      ],
      [
        'POST',
        '/templates',
        JSON.stringify(template('Bad Key', { settings: { 'feature\udc00': true } })),
        'settings.feature\\udc00',
      ],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await send(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(400);
      expect(res.type).toBe('application/problem+json');
      expect(res.problem.errors?.map((e) => e.field)).toEqual([field]);
    }
    expect(await count('templates')).toBe(templates);
    expect(await count('tenants')).toBe(tenants);
  });

  it('refuses a JSON body 20,000 levels deep with a 400 naming where it goes too deep, leaking nothing', async () => {
    const deep = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    const body = `{"name":"Too Deep","category":"basic","blueprint":"docex","blueprintVersion":${docexVersion},"initialData":[{"table":"roles","rows":[{"name":${deep}}]}]}`;
    const res = await send('POST', '/templates', body);
    expect(res.status).toBe(400);
    expect(res.problem.errors?.[0]?.field).toMatch(/^initialData\.0\.rows\.0\.name\.0\.0/);
    expect(res.problem.errors?.[0]?.reason).toBe('nests deeper than 64 levels');
    expect(res.text).not.toMatch(/call stack|RangeError/i);
  });

  it('answers 413 for a body over 1 MiB (the handler) and over 10 MB (the server, as API Gateway), storing nothing', async () => {
    const templates = await count('templates');
    for (const size of [MAX_BODY_BYTES + 1, 27_000_000]) {
      const body = JSON.stringify(template(`Huge ${size}`, { description: 'd'.repeat(size) }));
      const res = await send('POST', '/templates', body);
      expect(res.status, `${size}`).toBe(413);
      expect(res.problem).toMatchObject({ status: 413, title: 'Content Too Large' });
      expect(res.problem.errors).toEqual([
        {
          field: '(body)',
          reason: `is ${Buffer.byteLength(body)} bytes; at most ${size > GATEWAY_MAX_BODY_BYTES ? GATEWAY_MAX_BODY_BYTES : MAX_BODY_BYTES} bytes are accepted`,
        },
      ]);
    }
    expect(await count('templates')).toBe(templates);
    // Just under the limit is read (and then refused for what it says, not for its size).
    const under = JSON.stringify(template('Under', { description: 'd'.repeat(3000) }));
    expect((await send('POST', '/templates', under)).problem.errors?.[0]?.field).toBe('description');
  });

  it('refuses a body that is not UTF-8 text with a 400, as the Lambda gets it base64-encoded', async () => {
    const body = Buffer.concat([
      Buffer.from('{"tenantId":"utf-one","displayName":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const res = await send('POST', '/tenants', body);
    expect(res.status).toBe(400);
    expect(res.problem.errors).toEqual([{ field: '(body)', reason: 'is not valid UTF-8 text' }]);
  });
});
