/** A request an SDK client sent, as its HTTP request carried it. */
export interface SentRequest {
  /** The request's path (REST protocols name the operation there: `/schedules/<name>`). */
  readonly path: string;
  /** `x-amz-target` (JSON protocols name the operation there: `secretsmanager.CreateSecret`). */
  readonly target: string | undefined;
  readonly body: Record<string, unknown>;
}

/** What a recorded request is answered with: the operation's output, or an error the client throws. */
export type Answer = (sent: SentRequest) => Record<string, unknown> | Error;

/**
 * Records every request a real AWS SDK v3 client sends and answers it without a network: a
 * middleware at the end of the client's stack (after serialising, retrying and signing) keeps each
 * request's JSON body and returns `answer`'s output, or throws its error (an SDK exception, as the
 * service would have answered). The client must have a region and credentials to sign with.
 */
export function recordRequests(
  client: { middlewareStack: { add(middleware: unknown, options: unknown): void } },
  answer: Answer = () => ({}),
): SentRequest[] {
  const sent: SentRequest[] = [];
  client.middlewareStack.add(
    () => async (args: { request: { path: string; headers: Record<string, string>; body?: string } }) => {
      const { request } = args;
      const recorded = {
        path: request.path,
        target: request.headers['x-amz-target'],
        body: JSON.parse(request.body ?? '{}') as Record<string, unknown>,
      };
      sent.push(recorded);
      const result = answer(recorded);
      if (result instanceof Error) throw result;
      return {
        response: { statusCode: 200, headers: {}, body: undefined },
        output: { $metadata: {}, ...result },
      };
    },
    { step: 'finalizeRequest', name: 'record', priority: 'low' },
  );
  return sent;
}
