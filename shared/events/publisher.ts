import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { eventBridgeSdk } from '../aws-sdk';
import { eventsConfigFromEnv } from '../config';
import { TransientDatabaseError } from '../errors';
import { traceClient } from '../observability/lambda';
import type { SqlExecutor } from '../sql/port';

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

export const EVENT_SOURCE = 'tenantry';

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
