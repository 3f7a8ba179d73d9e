import { createRequire } from 'node:module';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type middy from '@middy/core';
import { logger, onLambda } from './logger';

/**
 * The Powertools middleware every handler runs on Lambda, before its own: Logger's
 * `injectLambdaContext` (cold start, function name, request id on every entry) and Tracer's
 * `captureLambdaHandler` (a subsegment per invocation, its errors and annotations).
 *
 * Tracer brings the X-Ray SDK, a tenth of a second of imports: it is loaded on Lambda only, at
 * init, with the middleware (an on-demand function's init runs on a whole vCPU, its invocations on
 * the memory's share of one: see `openAtInit` in shared/runtime.ts). The local engine, the CLI and
 * the tests run the same handlers without it; there is no X-Ray to send to. A Lambda bundle
 * carries it as a file of its own, `tracer.cjs` beside `index.mjs`, which the local build and the
 * bundle's size leave out.
 */
let tracer: Tracer | undefined;
let loading: Promise<Tracer> | undefined;

/** Clients made on Lambda before the tracer was loaded (at module scope): traced once it is. */
const untraced: unknown[] = [];

type TracerModule = typeof import('./tracer');

/**
 * Tracer and its middleware. In a Lambda bundle, the `tracer.cjs` beside it (the branch that imports
 * the sources is then dead code, and the bundler leaves Tracer out: the test must stay inline for
 * that, as in sql/connect.ts); elsewhere, the sources.
 */
async function tracerModule(): Promise<TracerModule> {
  if (process.env.TENANTRY_BUNDLE !== 'lambda') return import('./tracer');
  return createRequire(import.meta.filename)('./tracer.cjs') as TracerModule;
}

async function lambdaTracer(): Promise<Tracer> {
  loading ??= tracerModule().then(({ Tracer }) => {
    const t = new Tracer({ serviceName: 'tenantry' });
    for (const client of untraced.splice(0)) t.captureAWSv3Client(client);
    tracer = t;
    return t;
  });
  return loading;
}

/**
 * The client, each of its calls traced as an X-Ray subsegment on Lambda (now, or once the tracer
 * has loaded, still at init); as it is elsewhere.
 */
export function traceClient<T>(client: T): T {
  if (tracer) return tracer.captureAWSv3Client(client);
  if (onLambda()) untraced.push(client);
  return client;
}

/** Adds a searchable X-Ray annotation to the invocation's segment (workflow, step, route). */
export function annotate(key: string, value: string): void {
  tracer?.putAnnotation(key, value);
}

/** Powertools' Logger and Tracer middleware, on Lambda; nothing elsewhere. */
export function powertools<E, R>(): middy.MiddlewareObj<E, R> {
  let delegates: middy.MiddlewareObj<E, R>[] | undefined;
  let middleware: Promise<middy.MiddlewareObj<E, R>[]> | undefined;
  const load = (): Promise<middy.MiddlewareObj<E, R>[]> => {
    middleware ??= Promise.all([
      import('@aws-lambda-powertools/logger/middleware'),
      tracerModule(),
      lambdaTracer(),
    ]).then(([{ injectLambdaContext }, { captureLambdaHandler }, t]) => {
      delegates = [
        injectLambdaContext(logger, { resetKeys: true }) as middy.MiddlewareObj<E, R>,
        captureLambdaHandler(t, { captureResponse: false }) as middy.MiddlewareObj<E, R>,
      ];
      return delegates;
    });
    // A failure is for the invocations to report, not the init.
    middleware.catch(() => {
      middleware = undefined;
    });
    return middleware;
  };
  // On Lambda, loaded now, at init: the middleware is made at module scope.
  if (onLambda()) load().catch(() => {});
  return {
    before: async (request) => {
      if (!onLambda()) return;
      for (const m of await load()) await m.before?.(request);
    },
    after: async (request) => {
      if (!delegates) return;
      for (const m of [...delegates].reverse()) await m.after?.(request);
    },
    onError: async (request) => {
      if (!delegates) return;
      for (const m of [...delegates].reverse()) await m.onError?.(request);
    },
  };
}
