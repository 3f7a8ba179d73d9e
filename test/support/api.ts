import type { ApiClient } from '../../local/api-client';
import type { LocalEngineOptions } from '../../local/engine';
import { type ApiServer, startApiServer } from '../../local/server';
import type { ExecutionResponse } from '../../shared/api/responses';
import type { SqlClient } from '../../shared/sql/port';

/** Polls `GET /executions/{name}` until the execution has ended; its last answer. */
export async function finished(http: ApiClient, name: string): Promise<ExecutionResponse> {
  for (let i = 0; i < 3000; i++) {
    const res = await http.get<ExecutionResponse>(`/executions/${name}`);
    if (res.status === 200 && res.body.status !== 'RUNNING') return res.body;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`execution ${name} did not finish`);
}

/**
 * The local API server as a test wants it: retries without their backoff, and no deletion poller
 * or lease sweep running on a timer (a test fires them itself when it needs them).
 */
export function startTestApi(db: SqlClient, engine: Omit<LocalEngineOptions, 'db'> = {}): Promise<ApiServer> {
  return startApiServer({
    db,
    engine: { retryDelayMs: 0, ...engine },
    schedulerIntervalMs: 0,
    sweepIntervalMs: 0,
  });
}
