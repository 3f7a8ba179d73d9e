import * as z from 'zod';
import { MAX_JSON_DEPTH } from '../validation';
import { MAX_BODY_BYTES } from './input';
import { apiSchemas } from './responses';
import { API_ROUTES, type ApiRoute, ref } from './route-table';

type JsonSchema = Record<string, unknown>;

const OK_TEXT: Readonly<Record<number, string>> = { 201: 'Created', 202: 'Accepted' };

/** The component a request body schema is registered as. */
function componentId(schema: z.ZodType): string {
  const id = apiSchemas.get(schema)?.id;
  if (!id) throw new Error('a request body schema must be registered in apiSchemas');
  return id;
}

function parameters(schema: z.ZodObject | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table and the zod schemas:
 * every route, or only the routes named (those a deployment serves: the construct's `api.routes`).
 */
export function openApiDocument(routeIds?: ReadonlySet<string>): Record<string, unknown> {
  const components = z.toJSONSchema(apiSchemas, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  const schemas = Object.fromEntries(
    Object.entries(components.schemas).map(([id, { $id: _id, $schema: _s, ...s }]) => [id, s]),
  );
  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: ref('Problem') } },
  });
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES as readonly ApiRoute[]) {
    if (routeIds && !routeIds.has(route.id)) continue;
    const shape = route;
    const [okStatus, okBody] = shape.ok;
    // Any input can be bad (a NUL in a path parameter is a 400); any body can be too large.
    const errors = [
      ...new Set([
        ...(shape.params || shape.query || shape.body ? [400] : []),
        ...shape.errors,
        ...(shape.body ? [413] : []),
      ]),
    ].sort((a, b) => a - b);
    const operation = {
      operationId: route.id,
      summary: route.summary,
      security: [{ sigv4: [] }],
      parameters: [
        ...parameters(shape.params, 'path'),
        ...parameters(shape.query as z.ZodObject | undefined, 'query'),
      ],
      ...(shape.body
        ? {
            requestBody: {
              required: true,
              description: BODY_RULES,
              content: { 'application/json': { schema: ref(componentId(shape.body)) } },
            },
          }
        : {}),
      responses: {
        [String(okStatus)]:
          okStatus === 204
            ? { description: 'No Content' }
            : {
                description: OK_TEXT[okStatus] ?? 'OK',
                content: {
                  'application/json': { schema: typeof okBody === 'string' ? ref(okBody) : okBody },
                },
              },
        ...Object.fromEntries(errors.map((s) => [String(s), problem(PROBLEM_TEXT[s] ?? 'Error')])),
        500: problem('Unexpected error; nothing about it is disclosed'),
      },
    };
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tenantry API',
      version: '1.0.0',
      description:
        'Provision, track, cancel and redrive schema-per-tenant PostgreSQL tenants. Every route needs ' +
        'IAM (SigV4) authorization on AWS. Errors are RFC 9457 problem documents with field errors.',
    },
    paths,
    components: {
      schemas,
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (API Gateway IAM authorization), service execute-api',
        },
      },
    },
  };
}

const BODY_RULES =
  `A JSON document of at most ${MAX_BODY_BYTES} bytes, nested at most ${MAX_JSON_DEPTH} levels deep, ` +
  'with no NUL character or lone surrogate in any string or field name.';

const PROBLEM_TEXT: Readonly<Record<number, string>> = {
  400: 'Invalid input (a NUL or invalid Unicode anywhere included): every invalid field and why',
  404: 'Not found',
  409: 'Conflict with the tenant or execution as it is',
  410: 'Gone: the tenant is disabled, being deprovisioned or deprovisioned (the detail says which)',
  413: `Request body over ${MAX_BODY_BYTES} bytes`,
};
