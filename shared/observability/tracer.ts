// Powertools' Tracer and its middleware, with the X-Ray SDK they bring: a module of their own so
// that a Lambda bundle can carry them as a file of their own (`tracer.cjs` beside `index.mjs`,
// built by infra/constructs/tenantry-function.ts) and load it at the first invocation only
// (observability/lambda.ts). Inlined, their 130 KB were parsed by every cold start before the
// handler could run (bench/results/README.md, "Start-up").
export { Tracer } from '@aws-lambda-powertools/tracer';
export { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
