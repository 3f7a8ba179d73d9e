import type { LocalEngineOptions } from '../../local/engine';
import type { DataApiServer } from './data-api-server';

/** The local engine's own execution store: on AWS, Step Functions keeps that, not the database. */
const ENGINE_STORE = /\btenantry\.(?:executions|execution_events)\b/;

/**
 * Engine hooks that count the Data API calls of each step's successful attempt,
 * leaving out the local engine's writes to its execution store.
 */
export function stepCallCounter(server: DataApiServer) {
  const perStep: Record<string, number> = {};
  let mark = 0;
  const hooks: Pick<LocalEngineOptions, 'beforeTask' | 'afterTask'> = {
    beforeTask: () => {
      mark = server.calls().length;
    },
    afterTask: (state) => {
      const made = server
        .calls()
        .slice(mark)
        .filter((c) => c.sql === undefined || !ENGINE_STORE.test(c.sql));
      perStep[state] = (perStep[state] ?? 0) + made.length;
    },
  };
  return { perStep, hooks, total: () => Object.values(perStep).reduce((a, b) => a + b, 0) };
}
