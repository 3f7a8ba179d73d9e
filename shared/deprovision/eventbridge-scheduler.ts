import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import * as z from 'zod';
import { isSdkError, schedulerSdk } from '../aws-sdk';
import { ConfigError } from '../errors';
import { traceClient } from '../observability/lambda';
import type { DeletionScheduler } from './schedule';

const {
  ActionAfterCompletion,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  FlexibleTimeWindowMode,
  SchedulerClient: Scheduler,
} = schedulerSdk();

export const SchedulerEnvSchema = z.object({
  TENANTRY_SCHEDULE_GROUP: z.string().min(1),
  TENANTRY_SCHEDULER_ROLE_ARN: z.string().startsWith('arn:'),
  TENANTRY_SCHEDULER_DLQ_ARN: z.string().startsWith('arn:'),
  TENANTRY_DEPROVISION_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
});

/** `at(2026-11-23T12:00:00)`: Scheduler's one-time expression, whole seconds, UTC. */
export function atExpression(when: Date): string {
  return `at(${when.toISOString().slice(0, 19)})`;
}

/**
 * One-time EventBridge Scheduler schedules that start the Deprovision state machine, then delete
 * themselves; failed starts are retried and finally land in the dead-letter queue.
 */
export class EventBridgeDeletionScheduler implements DeletionScheduler {
  private readonly env: z.infer<typeof SchedulerEnvSchema>;

  constructor(
    env: NodeJS.ProcessEnv = process.env,
    private readonly client: SchedulerClient = traceClient(new Scheduler({})),
  ) {
    const parsed = SchedulerEnvSchema.safeParse(env);
    if (!parsed.success) {
      throw new ConfigError(
        `scheduler environment: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')} missing or invalid`,
      );
    }
    this.env = parsed.data;
  }

  async create(schedule: { name: string; dueAt: Date; input: unknown }): Promise<void> {
    await this.client.send(
      new CreateScheduleCommand({
        Name: schedule.name,
        GroupName: this.env.TENANTRY_SCHEDULE_GROUP,
        ScheduleExpression: atExpression(schedule.dueAt),
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: FlexibleTimeWindowMode.OFF },
        ActionAfterCompletion: ActionAfterCompletion.DELETE,
        Target: {
          Arn: this.env.TENANTRY_DEPROVISION_STATE_MACHINE_ARN,
          RoleArn: this.env.TENANTRY_SCHEDULER_ROLE_ARN,
          Input: JSON.stringify(schedule.input),
          RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86_400 },
          DeadLetterConfig: { Arn: this.env.TENANTRY_SCHEDULER_DLQ_ARN },
        },
      }),
    );
  }

  async delete(name: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteScheduleCommand({ Name: name, GroupName: this.env.TENANTRY_SCHEDULE_GROUP }),
      );
    } catch (error) {
      if (!isSdkError(error, 'ResourceNotFoundException')) throw error;
    }
  }
}
