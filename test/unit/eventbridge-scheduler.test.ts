import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { describe, expect, it } from 'vitest';
import { atExpression, EventBridgeDeletionScheduler } from '../../shared/deprovision/eventbridge-scheduler';
import { scheduleNameFor } from '../../shared/deprovision/schedule';
import { ConfigError } from '../../shared/errors';
import { recordRequests } from '../support/sdk-capture';

const ENV = {
  TENANTRY_SCHEDULE_GROUP: 'tenantry-deprovision',
  TENANTRY_SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/scheduler',
  TENANTRY_SCHEDULER_DLQ_ARN: 'arn:aws:sqs:eu-west-1:123456789012:dlq',
  TENANTRY_DEPROVISION_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Deprovision',
};

/** The real SDK client; every request it sends is recorded and answered without a network. */
function recordingClient() {
  const client = new SchedulerClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  return { client, sent: recordRequests(client) };
}

describe('EventBridge Scheduler deletions', () => {
  it('creates a one-time, self-deleting schedule that starts the Deprovision machine with retries and a DLQ', async () => {
    const { client, sent } = recordingClient();
    const dueAt = new Date('2026-12-01T09:30:15.123Z');
    const name = scheduleNameFor('acme', dueAt);
    await new EventBridgeDeletionScheduler(ENV, client).create({
      name,
      dueAt,
      input: { tenantId: 'acme', scheduleName: name },
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.path).toBe(`/schedules/${name}`);
    expect(sent[0]?.body).toMatchObject({
      GroupName: 'tenantry-deprovision',
      ScheduleExpression: 'at(2026-12-01T09:30:15)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: ENV.TENANTRY_DEPROVISION_STATE_MACHINE_ARN,
        RoleArn: ENV.TENANTRY_SCHEDULER_ROLE_ARN,
        Input: JSON.stringify({ tenantId: 'acme', scheduleName: name }),
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: ENV.TENANTRY_SCHEDULER_DLQ_ARN },
      },
    });
  });

  it('names schedules within Scheduler limits, the same for the same request', () => {
    const dueAt = new Date('2026-12-01T00:00:00Z');
    const name = scheduleNameFor('x'.repeat(40), dueAt);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^[0-9a-zA-Z-_.]+$/);
    expect(scheduleNameFor('x'.repeat(40), dueAt)).toBe(name);
    expect(atExpression(dueAt)).toBe('at(2026-12-01T00:00:00)');
  });

  it('refuses to start without its environment', () => {
    expect(() => new EventBridgeDeletionScheduler({ TENANTRY_SCHEDULE_GROUP: 'g' })).toThrow(ConfigError);
  });
});
