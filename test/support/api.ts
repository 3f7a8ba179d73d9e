import type { ApiClient } from '../../local/api-client';
import type { ExecutionResponse } from '../../shared/api/schemas';

/** Polls `GET /executions/{name}` until the execution has ended; its last answer. */
export async function finished(http: ApiClient, name: string): Promise<ExecutionResponse> {
  for (let i = 0; i < 3000; i++) {
    const res = await http.get<ExecutionResponse>(`/executions/${name}`);
    if (res.status === 200 && res.body.status !== 'RUNNING') return res.body;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`execution ${name} did not finish`);
}
