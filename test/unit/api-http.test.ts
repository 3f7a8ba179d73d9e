import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler as getExecution } from '../../functions/api/get-execution';
import { handler as getTenant } from '../../functions/api/get-tenant';
import { handler as startTenant } from '../../functions/api/start-tenant';
import { REPO_ROOT } from '../../infra/paths';
import { openApiText } from '../../local/server';
import type { HttpEvent, HttpResult } from '../../shared/api/http';
import { problemFor } from '../../shared/api/http';
import { ProblemSchema } from '../../shared/api/responses';
import { API_ROUTES, routeEntry } from '../../shared/api/route-table';
import { BlueprintCatalog } from '../../shared/blueprint';
import type { WorkflowEngine } from '../../shared/engine/port';
import { DatabaseError, NotFoundError, TransientDatabaseError, ValidationError } from '../../shared/errors';
import { type Runtime, withRuntime } from '../../shared/runtime';
import type { SqlClient } from '../../shared/sql/port';

const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

function event(overrides: Partial<HttpEvent> = {}): HttpEvent {
  return {
    version: '2.0',
    routeKey: 'GET /tenants/{tenantId}',
    rawPath: '/tenants/acme',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    pathParameters: { tenantId: 'acme' },
    requestContext: { requestId: 'req-1' } as HttpEvent['requestContext'],
    ...overrides,
  };
}

/** A runtime whose every database call fails as given. */
function failingRuntime(error: Error): Runtime {
  const db = {
    backend: 'postgres',
    query: async () => {
      throw error;
    },
    transaction: async () => {
      throw error;
    },
    close: async () => {},
  } as unknown as SqlClient;
  return { db, blueprints: new BlueprintCatalog(), engine: {} as WorkflowEngine };
}

const body = (r: HttpResult) => ProblemSchema.parse(JSON.parse(r.body ?? ''));

describe('the HTTP error middleware', () => {
  it('hides an unexpected error behind a bare 500: no message, SQL, stack or ARN', async () => {
    const secret = new DatabaseError(
      'relation "tenantry.tenants" does not exist at arn:aws:rds:eu-west-1:123456789012:cluster:x',
      '42P01',
    );
    for (const error of [secret, new TypeError("Cannot read properties of undefined (reading 'rows')")]) {
      const result = (await withRuntime(failingRuntime(error), () =>
        getTenant(event(), context),
      )) as HttpResult;
      expect(result.statusCode).toBe(500);
      expect(result.headers?.['content-type']).toBe('application/problem+json');
      expect(body(result)).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: 'an unexpected error occurred',
        requestId: 'req-1',
      });
      expect(result.body).not.toMatch(/relation|arn:|rows|42P01/);
    }
  });

  it('answers a transient fault with a 503 that says only to try again', async () => {
    const result = (await withRuntime(
      failingRuntime(new TransientDatabaseError('DatabaseResumingException')),
      () => getTenant(event(), context),
    )) as HttpResult;
    expect(result.statusCode).toBe(503);
    expect(body(result).detail).toBe('a transient fault; try again shortly');
  });

  it('names every invalid field of a request in one 400', async () => {
    // Refused before the runtime is touched: this one fails every query it is asked.
    const result = (await withRuntime(failingRuntime(new Error('no database for bad input')), () =>
      startTenant(
        event({ routeKey: 'POST /tenants', body: JSON.stringify({ tenantId: 'pg_x', blueprint: '' }) }),
        context,
      ),
    )) as HttpResult;
    expect(result.statusCode).toBe(400);
    expect(body(result).errors?.map((e) => e.field)).toEqual(['tenantId', 'displayName', 'blueprint']);
  });

  it('reads executions through the engine alone: those routes never open the database', async () => {
    const engine = {
      steps: ['Validate'],
      workflows: ['Provision'],
      executionArn: (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:Provision:${name}`,
      describe: async () => undefined,
    } as unknown as WorkflowEngine;
    const rt = { ...failingRuntime(new Error('the database was opened')), engine };
    const result = (await withRuntime(rt, () =>
      getExecution(
        event({
          routeKey: 'GET /executions/{executionId}',
          pathParameters: { executionId: 'acme-0123456789abcdef' },
        }),
        context,
      ),
    )) as HttpResult;
    expect(result.statusCode).toBe(404);
    expect(body(result).detail).toBe("no execution 'acme-0123456789abcdef'");
  });

  it('maps typed errors to their status, with their message as the detail', () => {
    expect(problemFor(new NotFoundError("no tenant 'x'"))).toMatchObject({
      status: 404,
      detail: "no tenant 'x'",
    });
    expect(problemFor(new ValidationError([{ field: 'limit', reason: 'must be at least 1' }]))).toMatchObject(
      {
        status: 400,
        errors: [{ field: 'limit', reason: 'must be at least 1' }],
      },
    );
  });
});

describe('the route table and the OpenAPI document', () => {
  it('points every route at a handler file that exists', () => {
    for (const route of API_ROUTES)
      expect(existsSync(join(REPO_ROOT, routeEntry(route))), routeEntry(route)).toBe(true);
  });

  it('matches the committed openapi.json (regenerate: npx tsx local/server.ts --write-openapi)', () => {
    const committed: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'openapi.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(openApiText()));
  });

  it('documents every route with its problem responses, as OpenAPI 3.1', () => {
    const doc = JSON.parse(openApiText()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const route of API_ROUTES) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(Object.keys(op?.responses ?? {})).toContain('500');
    }
    expect(doc.components.schemas.StartTenantRequest).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['tenantId', 'displayName']),
      additionalProperties: false,
    });
  });
});
