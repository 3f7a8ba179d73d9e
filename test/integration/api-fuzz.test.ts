import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../local/api-client';
import { type ApiServer, GATEWAY_MAX_BODY_BYTES, startApiServer } from '../../local/server';
import { MAX_BODY_BYTES } from '../../shared/api/input';
import {
  type ExecutionResponse,
  ProblemSchema,
  type StartedExecutionResponse,
} from '../../shared/api/responses';
import {
  DeprovisionBodySchema,
  DomainsBodySchema,
  LabelsBodySchema,
  MigrateBodySchema,
  ProvisionFromTemplateSchema,
  RolloutBodySchema,
  StartTenantSchema,
  TemplateRequestSchema,
} from '../../shared/api/schemas';
import { BlueprintCatalog } from '../../shared/blueprint';
import type { SqlClient } from '../../shared/sql/port';
import { MAX_JSON_DEPTH, printable } from '../../shared/validation';
import { type TestDatabase, testBackends } from '../support/databases';
import { type Prng, prng } from '../support/prng';

/**
 * The API fuzz: every path and method of the committed openapi.json, with path parameters, query
 * parameters and bodies filled from its schemas (valid, with real ids), then mutated so that each
 * request is bad: a NUL or a lone surrogate in a string, an object key, a path or query parameter;
 * nesting far past the depth limit; bodies past the size limits; bytes that are not UTF-8; values
 * of the wrong type. Seeded (FUZZ_SEED to replay one run) and bounded (FUZZ_PER_ROUTE requests a
 * route). Every answer must be below 500, every 4xx a problem+json naming a field, and a refused
 * request must leave tenants, templates and executions exactly as they were.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const PER_ROUTE = Number(process.env.FUZZ_PER_ROUTE ?? 40);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  enum?: Json[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
};
interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: JsonSchema;
}
interface Operation {
  operationId: string;
  parameters: Parameter[];
  requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}

const OPENAPI = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as OpenApi;

type Rng = Prng;

/** A path into a JSON value, as zod and the API name it (`initialData.0.rows.0.name`). */
type Path = (string | number)[];
const fieldOf = (path: Path) =>
  path.length === 0 ? '(body)' : path.map((p) => printable(String(p))).join('.');

/** What the filled-in values are: the ids of real resources, and values that pass each rule. */
interface Fixtures {
  tenantId: string;
  templateId: string;
  templateName: string;
  executionId: string;
  docexVersion: number;
}

const STRING_CANDIDATES = ['fuzzvalue', 'fuzz-value', 'maxUsers', 'fuzz_value', 'fuzz@example.com'];

/**
 * A value valid for `schema`, and the paths inside it whose schema has one JSON type (so a value of
 * another type there is surely invalid). Named fields get real values (a new tenant id, docex).
 */
function fill(
  schema: JsonSchema,
  rng: Rng,
  named: Readonly<Record<string, Json>>,
  path: Path = [],
  typed: { path: Path; type: string }[] = [],
): { value: Json; typed: { path: Path; type: string }[] } {
  const s = schema.$ref ? (OPENAPI.components.schemas[schema.$ref.split('/').at(-1) ?? ''] ?? {}) : schema;
  const name = path.at(-1);
  const type = Array.isArray(s.type) ? undefined : s.type;
  if (type) typed.push({ path, type });
  if (typeof name === 'string' && name in named && path.length === 1)
    return { value: named[name] ?? null, typed };
  if (s.enum) return { value: rng.pick(s.enum), typed };
  if (s.oneOf ?? s.anyOf) return fill(rng.pick(s.oneOf ?? s.anyOf ?? []), rng, named, path, typed);
  if (Array.isArray(s.type)) return { value: 'fuzz', typed };
  switch (s.type) {
    case 'object': {
      const out: { [key: string]: Json } = {};
      for (const [key, sub] of Object.entries(s.properties ?? {})) {
        if (!(s.required ?? []).includes(key) && rng.next() < 0.4) continue;
        out[key] = fill(sub, rng, named, [...path, key], typed).value;
      }
      if (!s.properties && typeof s.additionalProperties === 'object') {
        // One entry, its key valid for propertyNames; an empty schema ({}: anything) gets a string.
        const key = fill(s.propertyNames ?? { type: 'string' }, rng, named, [], []).value as string;
        const sub = s.additionalProperties;
        out[key] =
          Object.keys(sub).length === 0 ? 'fuzz' : fill(sub, rng, named, [...path, key], typed).value;
      }
      return { value: out, typed };
    }
    case 'array': {
      const items: Json[] = [];
      for (let i = 0; i < Math.max(s.minItems ?? 0, 1); i++)
        items.push(fill(s.items ?? { type: 'string' }, rng, named, [...path, i], typed).value);
      return { value: items, typed };
    }
    case 'integer':
    case 'number':
      return {
        value: Math.max(s.minimum ?? 0, s.exclusiveMinimum === undefined ? 0 : s.exclusiveMinimum + 1),
        typed,
      };
    case 'boolean':
      return { value: rng.next() < 0.5, typed };
    default: {
      const pattern = s.pattern ? new RegExp(s.pattern) : undefined;
      let text = STRING_CANDIDATES.find((c) => !pattern || pattern.test(c)) ?? 'fuzz';
      if (s.format === 'email') text = 'fuzz@example.com';
      while (text.length < (s.minLength ?? 0)) text += 'x';
      return { value: text, typed };
    }
  }
}

/** The zod schema behind each request body component: the filled-in body must pass it. */
const BODY_SCHEMAS = {
  StartTenantRequest: StartTenantSchema,
  ProvisionFromTemplateRequest: ProvisionFromTemplateSchema,
  TemplateRequest: TemplateRequestSchema,
  DeprovisionRequest: DeprovisionBodySchema,
  MigrateRequest: MigrateBodySchema,
  RolloutRequest: RolloutBodySchema,
  LabelsRequest: LabelsBodySchema,
  DomainsRequest: DomainsBodySchema,
} as const;

function getAt(value: Json, path: Path): Json {
  let v: Json = value;
  for (const p of path) v = (v as Record<string | number, Json>)[p] as Json;
  return v;
}
function setAt(value: Json, path: Path, to: Json): Json {
  if (path.length === 0) return to;
  const parent = getAt(value, path.slice(0, -1)) as Record<string | number, Json>;
  parent[path.at(-1) as string | number] = to;
  return value;
}
/** Every node of a value, with its path. */
function walk(value: Json, path: Path = [], out: { path: Path; value: Json }[] = []) {
  out.push({ path, value });
  if (Array.isArray(value)) for (const [i, v] of value.entries()) walk(v, [...path, i], out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) walk(v, [...path, k], out);
  return out;
}

const BAD_TEXT = ['\u0000', '\ud800', '\udfff', '\udc00\ud800'];
const insert = (text: string, bad: string, rng: Rng) => {
  const at = rng.below(text.length + 1);
  return text.slice(0, at) + bad + text.slice(at);
};
/** Nested arrays and objects, `depth` deep, as JSON text (JSON.stringify would recurse). */
function deepText(depth: number, rng: Rng): string {
  const kinds = Array.from({ length: depth }, () => rng.next() < 0.5);
  return (
    kinds.map((o) => (o ? '{"d":' : '[')).join('') +
    '0' +
    kinds
      .reverse()
      .map((o) => (o ? '}' : ']'))
      .join('')
  );
}
const OTHER_TYPE: Record<string, Json[]> = {
  string: [12, true, null, [], {}],
  integer: ['12', 1.5, false, null, [1], {}],
  number: ['12', true, null, [], {}],
  boolean: ['true', 0, null, [], {}],
  object: ['{}', 1, true, null, []],
  array: ['[]', 1, false, null, {}],
};

/** One request to send, with what must come back. */
interface Case {
  method: string;
  path: string;
  body?: string | Buffer;
  what: string;
  /** The status it must get: exact, or any 4xx. */
  expect: number | '4xx' | 'below 500';
  /** A field the problem must name (exactly, or as a prefix). */
  field?: string;
  fieldPrefix?: boolean;
}

const PATH_MUTATIONS = ['nul', 'bad-utf8', 'junk', 'long', 'empty'] as const;
const QUERY_MUTATIONS = ['nul-value', 'nul-name', 'unknown', 'wrong-type'] as const;
const BODY_MUTATIONS = [
  'nul-string',
  'surrogate-string',
  'bad-key',
  'deep',
  'huge',
  'wrong-type',
  'not-json',
  'not-utf8',
  'unknown-field',
] as const;

function encodePath(template: string, values: Record<string, string>) {
  return template.replace(/\{(\w+)\}/g, (_, n: string) => values[n] ?? '');
}

function makeCase(
  method: string,
  template: string,
  op: Operation,
  rng: Rng,
  fx: Fixtures,
  serial: number,
  budget: { gatewaySized: number },
  /** Where the mutation went and what it was, e.g. `body:deep`: the run checks it tried them all. */
  trace: { kind: string },
): Case {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const bodySchema = op.requestBody?.content['application/json'].schema;
  const known: Record<string, string> = {
    tenantId: fx.tenantId,
    templateId: fx.templateId,
    executionId: fx.executionId,
  };
  const pathValues = Object.fromEntries(
    pathParams.map((p) => [p.name, encodeURIComponent(known[p.name] ?? 'fuzz')]),
  );
  const named: Record<string, Json> = {
    tenantId: `fuzz-new-${serial}`,
    blueprint: 'docex',
    template: fx.templateId,
    blueprintVersion: fx.docexVersion,
    // A new version of a template keeps its name.
    name: op.operationId === 'UpdateTemplate' ? fx.templateName : `Fuzz Template ${serial}`,
    nextToken: '1',
    domains: [`fuzz-${serial}.example.com`],
  };
  const query = new URLSearchParams();
  for (const q of queryParams) {
    if (rng.next() < 0.5) continue;
    query.set(q.name, String(named[q.name] ?? fill(q.schema, rng, named).value));
  }
  const filled = bodySchema ? fill(bodySchema, rng, named) : undefined;
  const component = bodySchema?.$ref?.split('/').at(-1) as keyof typeof BODY_SCHEMAS | undefined;
  if (component && filled) {
    const parsed = BODY_SCHEMAS[component].safeParse(filled.value);
    if (!parsed.success) throw new Error(`the fuzz's ${component} is not valid: ${parsed.error.message}`);
  }
  // Where the mutation goes: an input the route reads. A route that reads nothing gets noise.
  const targets = [
    ...(pathParams.length ? ['path'] : []),
    ...(queryParams.length && method === 'GET' ? ['query'] : []),
    ...(filled ? ['body', 'body', 'body'] : []),
  ];
  const url = () => `${encodePath(template, pathValues)}${query.size ? `?${query}` : ''}`;
  const json = (v: Json) => JSON.stringify(v);
  const target = targets.length ? rng.pick(targets) : 'noise';

  if (target === 'noise') {
    trace.kind = 'noise';
    query.set(rng.pick(['x', 'limit', '\u0000', 'nextToken']), rng.pick(['\u0000', 'abc', '-1', '']));
    return { method, path: url(), what: 'noise on a route that reads no input', expect: 'below 500' };
  }

  if (target === 'path') {
    const p = rng.pick(pathParams).name;
    const value = pathValues[p] ?? '';
    const kind = rng.pick(PATH_MUTATIONS);
    trace.kind = `path:${kind}`;
    // A bodyless route reads no body: one sent anyway is noise (it must not make the route act).
    const noise = method !== 'GET' && !filled && rng.next() < 0.3 ? json({ x: '\u0000', d: 1 }) : undefined;
    const base = { method, ...(filled ? { body: json(filled.value) } : noise ? { body: noise } : {}) };
    switch (kind) {
      case 'nul':
        pathValues[p] = insert(value, '%00', rng);
        return { ...base, path: url(), what: `NUL in path parameter ${p}`, expect: 400, field: p };
      case 'bad-utf8':
        pathValues[p] = insert(value, rng.pick(['%ED%A0%80', '%FF', '%C3', '%E2%82']), rng);
        return { ...base, path: url(), what: `not UTF-8 in path parameter ${p}`, expect: 400, field: p };
      case 'junk':
        pathValues[p] = encodeURIComponent(
          rng.pick(['12345', '{}', '[]', 'a b', "o'hara", 'ünï😀', '%', 'a/b', '-', ' ', 'UPPER']),
        );
        return { ...base, path: url(), what: `junk path parameter ${p}`, expect: '4xx' };
      case 'long':
        pathValues[p] = 'x'.repeat(101 + rng.below(4000));
        return { ...base, path: url(), what: `long path parameter ${p}`, expect: '4xx' };
      default:
        pathValues[p] = '';
        return { ...base, path: url(), what: `empty path parameter ${p}`, expect: 404, field: '(path)' };
    }
  }

  if (target === 'query') {
    const q = rng.pick(queryParams);
    const kind = rng.pick(QUERY_MUTATIONS);
    trace.kind = `query:${kind}`;
    switch (kind) {
      case 'nul-value':
        query.set(q.name, insert(query.get(q.name) ?? 'abc', '\u0000', rng));
        return { method, path: url(), what: `NUL in query ${q.name}`, expect: 400, field: q.name };
      case 'nul-name': {
        const name = insert(q.name, '\u0000', rng);
        query.set(name, '1');
        return { method, path: url(), what: 'NUL in a query name', expect: 400, field: printable(name) };
      }
      case 'unknown':
        query.set('fuzz', '1');
        return { method, path: url(), what: 'unknown query parameter', expect: 400, field: 'fuzz' };
      default: {
        const bad =
          q.schema.type === 'integer'
            ? rng.pick(['abc', '-1', '1.5', '0', '1e999', '99999999'])
            : q.schema.enum
              ? 'bogus'
              : '';
        query.set(q.name, bad);
        return {
          method,
          path: url(),
          what: `wrong type in query ${q.name}: '${bad}'`,
          expect: 400,
          field: q.name,
        };
      }
    }
  }

  // The body.
  const value = filled?.value ?? {};
  const path = url();
  const nodes = walk(value);
  const kind = rng.pick(BODY_MUTATIONS);
  trace.kind = `body:${kind}`;
  switch (kind) {
    case 'nul-string':
    case 'surrogate-string': {
      const strings = nodes.filter((n) => typeof n.value === 'string');
      const bad = kind === 'nul-string' ? '\u0000' : rng.pick(BAD_TEXT.slice(1));
      const at = strings.length ? rng.pick(strings) : { path: ['fuzz'], value: '' };
      setAt(value, at.path, insert(String(at.value), bad, rng));
      return {
        method,
        path,
        body: json(value),
        what: `${kind} at ${fieldOf(at.path)}`,
        expect: 400,
        field: fieldOf(at.path),
      };
    }
    case 'bad-key': {
      const objects = nodes.filter((n) => n.value && typeof n.value === 'object' && !Array.isArray(n.value));
      const at = rng.pick(objects);
      const obj = at.value as Record<string, Json>;
      const keys = Object.keys(obj);
      const old = keys.length && rng.next() < 0.7 ? rng.pick(keys) : 'fuzz';
      const key = insert(old, rng.pick(BAD_TEXT), rng);
      obj[key] = obj[old] ?? 1;
      delete obj[old];
      const field = fieldOf([...at.path, key]);
      return { method, path, body: json(value), what: `bad field name ${field}`, expect: 400, field };
    }
    case 'deep': {
      const at = rng.pick(nodes);
      const depth = MAX_JSON_DEPTH + 1 + (rng.next() < 0.3 ? 20_000 : rng.below(200));
      const marker = '"__DEEP__"';
      const text = json(setAt(value, at.path, '__DEEP__')).replace(marker, deepText(depth, rng));
      return {
        method,
        path,
        body: text,
        what: `${depth} levels deep at ${fieldOf(at.path)}`,
        expect: 400,
        field: at.path.length ? `${fieldOf(at.path)}.` : '',
        fieldPrefix: true,
      };
    }
    case 'huge': {
      const strings = nodes.filter((n) => typeof n.value === 'string');
      const at = strings.length ? rng.pick(strings) : { path: ['fuzz'] as Path };
      // A few past API Gateway's own limit, which the local server refuses before any handler runs.
      const gateway = budget.gatewaySized > 0;
      if (gateway) budget.gatewaySized--;
      const size = gateway ? GATEWAY_MAX_BODY_BYTES + 1024 : MAX_BODY_BYTES + 1 + rng.below(65_536);
      setAt(value, at.path, 'h'.repeat(size));
      return {
        method,
        path,
        body: json(value),
        what: `a body of ${size}+ bytes`,
        expect: 413,
        field: '(body)',
      };
    }
    case 'wrong-type': {
      const typed = (filled?.typed ?? []).filter((t) => OTHER_TYPE[t.type]);
      const at = typed.length ? rng.pick(typed) : { path: [] as Path, type: 'object' };
      const to = rng.pick(OTHER_TYPE[at.type] ?? [1]);
      setAt(value, at.path, to);
      return {
        method,
        path,
        body: json(at.path.length ? value : to),
        what: `${JSON.stringify(to)} for the ${at.type} at ${fieldOf(at.path)}`,
        expect: 400,
        field: fieldOf(at.path),
        fieldPrefix: true,
      };
    }
    case 'not-json': {
      const text = json(value);
      // Never empty: an empty body is a different request (a deprovisioning's defaults).
      const cut = text.slice(0, 1 + rng.below(text.length - 1));
      return { method, path, body: cut, what: 'truncated JSON', expect: 400, field: '(body)' };
    }
    case 'not-utf8': {
      const text = json(value);
      const at = rng.below(text.length);
      const bad = rng.pick([[0xed, 0xa0, 0x80], [0xff], [0xc3], [0xc0, 0xaf]]);
      const body = Buffer.concat([
        Buffer.from(text.slice(0, at)),
        Buffer.from(bad),
        Buffer.from(text.slice(at)),
      ]);
      return { method, path, body, what: 'bytes that are not UTF-8', expect: 400, field: '(body)' };
    }
    default: {
      const objects = nodes.filter((n) => n.value && typeof n.value === 'object' && !Array.isArray(n.value));
      const at = objects[0] ?? { path: [] as Path, value: {} };
      (at.value as Record<string, Json>).fuzzUnknown = 1;
      return { method, path, body: json(value), what: 'an unknown field', expect: 400, field: 'fuzzUnknown' };
    }
  }
}

/** Tenants, templates and executions as they are: any change to any row changes it. */
async function snapshot(db: SqlClient) {
  const { rows } = await db.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM tenantry.tenants)::text AS tenants,
            (SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x.tenant_id), '')) FROM tenantry.tenants x) AS tenant_rows,
            (SELECT count(*) FROM tenantry.templates)::text AS templates,
            (SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x.template_id), '')) FROM tenantry.templates x) AS template_rows,
            (SELECT count(*) FROM tenantry.template_versions)::text AS template_versions,
            (SELECT count(*) FROM tenantry.executions)::text AS executions,
            (SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x.execution_id), '')) FROM tenantry.executions x) AS execution_rows,
            (SELECT count(*) FROM tenantry.execution_events)::text AS execution_events,
            (SELECT count(*) FROM tenantry.audit_log)::text AS audit_rows`,
  );
  return rows[0];
}

const backends = testBackends().filter((b) => b.name !== 'data-api');

describe.each(backends)('API fuzz on $name', (backend) => {
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  let fx: Fixtures;

  beforeAll(async () => {
    t = await backend.open();
    api = await startApiServer({ db: t.db, engine: { retryDelayMs: 0 }, schedulerIntervalMs: 0 });
    http = new ApiClient(api.url);
    const docexVersion = new BlueprintCatalog().get('docex').version;
    const template = await http.post<{ templateId: string }>('/templates', {
      name: 'Fuzz Base',
      category: 'basic',
      blueprint: 'docex',
      blueprintVersion: docexVersion,
    });
    expect(template.status, JSON.stringify(template.body)).toBe(201);
    const started = await http.post<StartedExecutionResponse>('/tenants', {
      tenantId: 'fuzz-base',
      displayName: 'Fuzz Base',
      template: template.body.templateId,
      requestedBy: 'fuzz',
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    for (let i = 0; ; i++) {
      const e = await http.get<ExecutionResponse>(started.body.statusUrl);
      if (e.body.status === 'SUCCEEDED') break;
      if (e.body.status !== 'RUNNING' || i > 3000) throw new Error(`fuzz-base: ${JSON.stringify(e.body)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    fx = {
      tenantId: 'fuzz-base',
      templateId: template.body.templateId,
      templateName: 'Fuzz Base',
      executionId: started.body.executionName,
      docexVersion,
    };
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
  });

  it('answers every mutated request to every route of openapi.json with a 4xx naming a field, and changes nothing', async () => {
    const rng = prng(SEED);
    const operations = Object.entries(OPENAPI.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(21);
    const before = await snapshot(t.db);
    const seen = new Map<string, number>();
    const tried = new Set<string>();
    const refused = new Map<string, number>();
    let serial = 0;
    const budget = { gatewaySized: 2 };
    for (let round = 0; round < PER_ROUTE; round++) {
      for (const { path, method, op } of operations) {
        serial++;
        const trace = { kind: '' };
        const sent = makeCase(method, path, op, rng, fx, serial, budget, trace);
        tried.add(trace.kind);
        const refusals = refused.get(op.operationId) ?? 0;
        const label = `seed ${SEED} #${serial}: ${sent.method} ${sent.path.slice(0, 120)} (${sent.what})`;
        const res = await fetch(`${api.url}${sent.path}`, {
          method: sent.method,
          ...(sent.body !== undefined
            ? { body: sent.body, headers: { 'content-type': 'application/json' } }
            : {}),
        });
        const text = await res.text();
        const shown = `${label} -> ${res.status} ${text.slice(0, 300)}`;
        expect(res.status, shown).toBeLessThan(500);
        if (sent.expect === '4xx') expect(res.status >= 400 && res.status < 500, shown).toBe(true);
        else if (typeof sent.expect === 'number') expect(res.status, shown).toBe(sent.expect);
        if (res.status >= 400) {
          expect(res.headers.get('content-type'), shown).toBe('application/problem+json');
          const problem = ProblemSchema.parse(JSON.parse(text));
          expect(problem.status, shown).toBe(res.status);
          expect(problem.errors?.length, shown).toBeGreaterThan(0);
          for (const e of problem.errors ?? []) expect(e.field.length, shown).toBeGreaterThan(0);
          if (sent.field !== undefined) {
            const fields = (problem.errors ?? []).map((e) => e.field);
            const named = fields.some((f) =>
              sent.fieldPrefix
                ? f === sent.field?.replace(/\.$/, '') || f.startsWith(sent.field ?? '')
                : f === sent.field,
            );
            expect(named, `${shown}\nfields: ${JSON.stringify(fields)}, wanted ${sent.field}`).toBe(true);
          }
          expect(await snapshot(t.db), `${label}: a refused request changed the database`).toEqual(before);
          refused.set(op.operationId, refusals + 1);
        } else {
          expect(method, `${shown}: a mutated request was accepted`).toBe('GET');
        }
        seen.set(`${res.status}`, (seen.get(`${res.status}`) ?? 0) + 1);
      }
    }
    expect(await snapshot(t.db)).toEqual(before);
    // The run covered what it is for: refusals of each kind, the 413s of both limits included.
    expect(seen.get('400') ?? 0).toBeGreaterThan(operations.length * 3);
    expect(seen.get('413') ?? 0).toBeGreaterThan(2);
    expect(budget.gatewaySized).toBe(0);
    expect([...tried].sort()).toEqual(
      [
        'noise',
        ...PATH_MUTATIONS.map((k) => `path:${k}`),
        ...QUERY_MUTATIONS.map((k) => `query:${k}`),
        ...BODY_MUTATIONS.map((k) => `body:${k}`),
      ].sort(),
    );
    // Every route that reads input refused every request sent to it.
    for (const { op } of operations) {
      if (op.parameters.length || op.requestBody)
        expect(refused.get(op.operationId), op.operationId).toBe(PER_ROUTE);
    }
  }, 120_000);
});
