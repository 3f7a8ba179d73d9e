// Powertools' Tracer and its middleware, with the X-Ray SDK they bring: a module of their own so
// that a Lambda bundle can carry them as a file of their own (`tracer.cjs` beside `index.mjs`,
// built by infra/constructs/tenantry-function.ts), loaded on Lambda only, at init
// (observability/lambda.ts). Off Lambda (the local engine, the CLI, the tests) nothing loads them.
export { Tracer } from '@aws-lambda-powertools/tracer';
export { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
