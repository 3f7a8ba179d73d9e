import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { eventBridgeSdk } from '../aws-sdk';
import { eventsConfigFromEnv } from '../config';
import { TransientDatabaseError } from '../errors';
import { traceClient } from '../observability/lambda';
import type { SqlClient, SqlExecutor } from '../sql/port';
import { EVENT_SOURCE } from './tenant-events';

export { EVENT_SOURCE, TENANT_EVENT_TYPES, type TenantEventType } from './tenant-events';

/** An event the apps consume, e.g. `TenantDeprovisioned`. */
export interface DomainEvent {
  readonly type: string;
  /** Makes publishing idempotent: the same key is published once. */
  readonly key: string;
  readonly detail: Record<string, unknown>;
}

export interface EventPublisher {
  publish(event: DomainEvent): Promise<void>;
}

/** On AWS: the tenantry event bus. A retried step may publish twice; consumers dedupe on `detail.eventKey`. */
export class EventBridgePublisher implements EventPublisher {
  /** The SDK is loaded at the first publish: the local CLI and server never pay for it. */
  constructor(
    private readonly busName: string,
    private client?: EventBridgeClient,
  ) {}

  async publish(event: DomainEvent): Promise<void> {
    const { EventBridgeClient, PutEventsCommand } = eventBridgeSdk();
    this.client ??= traceClient(new EventBridgeClient({}));
    const result = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: EVENT_SOURCE,
            DetailType: event.type,
            Detail: JSON.stringify({ ...event.detail, eventKey: event.key }),
          },
        ],
      }),
    );
    if (result.FailedEntryCount) {
      const entry = result.Entries?.find((e) => e.ErrorCode);
      throw new TransientDatabaseError(
        `EventBridge refused ${event.type}: ${entry?.ErrorCode} ${entry?.ErrorMessage}`,
      );
    }
  }
}

/** Locally: an outbox table in the control schema that apps (and tests) read. Exactly once per key. */
export class OutboxPublisher implements EventPublisher {
  constructor(private readonly db: SqlExecutor) {}

  async publish(event: DomainEvent): Promise<void> {
    await this.db.query(
      `INSERT INTO tenantry.outbox_events (event_key, source, type, detail) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (event_key) DO NOTHING`,
      [event.key, EVENT_SOURCE, event.type, JSON.stringify(event.detail)],
    );
  }
}

let publisher: EventPublisher | undefined;
/** Where events go here: the event bus on AWS (TENANTRY_EVENT_BUS_NAME), else the database's outbox. */
export function eventPublisher(db: SqlExecutor): EventPublisher {
  const config = eventsConfigFromEnv();
  if (config.kind === 'eventbridge') {
    publisher ??= new EventBridgePublisher(config.busName);
    return publisher;
  }
  return new OutboxPublisher(db);
}

/**
 * Makes a change and publishes the event it causes (or none: `event` undefined), so that the event
 * exists exactly when the change does. `change` runs in one transaction. With the outbox, the event
 * is written in that same transaction. With EventBridge, it is sent right after the commit, never
 * before it: an application evicting its cache on the event must not read the row as it was before
 * the change. A send that fails after the commit fails the caller (a step, which is retried: the
 * change is idempotent and the event's key the same, so consumers dedupe on `detail.eventKey`).
 */
export async function changeAndPublish<T>(
  db: SqlClient,
  change: (tx: SqlExecutor) => Promise<{ readonly result: T; readonly event?: DomainEvent }>,
): Promise<T> {
  const config = eventsConfigFromEnv();
  const done = await db.transaction(async (tx) => {
    const made = await change(tx);
    if (made.event && config.kind === 'outbox') await new OutboxPublisher(tx).publish(made.event);
    return made;
  });
  if (done.event && config.kind === 'eventbridge') await eventPublisher(db).publish(done.event);
  return done.result;
}
