import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { type Cancelled, call, type Execution, type HistoryPage, type StartedExecution } from './api';
import { STEP_STATUS_MEANING, StepGraph } from './graph';
import {
  ActionButton,
  Badge,
  between,
  ErrorBanner,
  Facts,
  formatDuration,
  formatTime,
  href,
  Loading,
  navigate,
  usePoll,
} from './ui';

/** The statuses an execution can be redriven from (POST /executions/{id}/redrive). */
const REDRIVABLE = new Set(['FAILED', 'ABORTED', 'TIMED_OUT']);

/** How often a running execution's steps are read again: the graph is live while it runs. */
export const LIVE_POLL_MS = 500;

/** The workflow an execution ARN names (`...:execution:<prefix-><Workflow>:<name>`). */
function workflowOf(executionId: string): string | undefined {
  const parts = executionId.split(':');
  return parts.length >= 8 ? parts.at(-2)?.split('-').at(-1) : undefined;
}

const nameOf = (executionId: string) => executionId.split(':').at(-1) ?? executionId;

type HistoryEvent = HistoryPage['items'][number];

function eventDetail(event: HistoryEvent): string {
  for (const [key, value] of Object.entries(event)) {
    if (!key.endsWith('EventDetails') || typeof value !== 'object' || value === null) continue;
    const d = value as Record<string, unknown>;
    const text = [d.name, d.resource, d.error, d.cause].filter((v) => typeof v === 'string').join(' · ');
    if (text) return text;
  }
  return '';
}

function History({ executionId }: { executionId: string }) {
  const [events, setEvents] = useState<HistoryEvent[]>();
  const [error, setError] = useState<Error>();
  const load = async (e: Event) => {
    if (!(e.currentTarget as HTMLDetailsElement).open || events) return;
    try {
      const page = await call<HistoryPage>('GetExecutionHistory', {
        params: { executionId },
        query: { limit: 1000 },
      });
      setEvents(page.items);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <details class="card history" onToggle={load}>
      <summary>History events</summary>
      <ErrorBanner error={error} />
      {events ? (
        <ol class="events mono small">
          {events.map((ev) => (
            <li key={ev.id}>
              <span class="muted">{new Date(ev.timestamp).toLocaleTimeString()}</span> {ev.type}{' '}
              <span class="muted">{eventDetail(ev)}</span>
            </li>
          ))}
        </ol>
      ) : error ? null : (
        <Loading what="the history" />
      )}
    </details>
  );
}

/** How many steps are in each status, in the API's order of statuses: `5 succeeded · 1 failed · 6 skipped`. */
function stepCounts(e: Execution): string {
  const counts = new Map<string, number>();
  for (const s of e.steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return Object.keys(STEP_STATUS_MEANING)
    .filter((status) => counts.has(status))
    .map((status) => `${counts.get(status)} ${status}`)
    .join(' · ');
}

function StepsTable({ execution }: { execution: Execution }) {
  return (
    <table class="table steps" data-testid="steps-table">
      <thead>
        <tr>
          <th scope="col">Step</th>
          <th scope="col">Status</th>
          <th scope="col">Attempts</th>
          <th scope="col">Started</th>
          <th scope="col">Took</th>
          <th scope="col">Error or warnings</th>
        </tr>
      </thead>
      <tbody>
        {execution.steps.map((s) => (
          <tr key={s.name} data-testid={`step-row-${s.name}`} data-status={s.status}>
            <td class="strong">{s.name}</td>
            <td>
              <Badge status={s.status} />
            </td>
            <td>{s.attempts || '—'}</td>
            <td class="muted">{s.startedAt ? new Date(s.startedAt).toLocaleTimeString() : '—'}</td>
            <td class="muted">{formatDuration(s.durationMs)}</td>
            <td>
              {s.error ? (
                <span class="step-error" data-testid={`step-error-${s.name}`}>
                  <strong>{s.error.error}</strong>: {s.error.cause}
                </span>
              ) : s.warnings.length > 0 ? (
                <span class="muted">{s.warnings.join('; ')}</span>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ExecutionView({ executionId }: { executionId: string }) {
  const polled = usePoll(
    `execution:${executionId}`,
    () => call<Execution>('GetExecution', { params: { executionId } }),
    (e) => (e === undefined || e.status === 'RUNNING' ? LIVE_POLL_MS : undefined),
  );
  const e = polled.data;
  const workflow = e ? workflowOf(e.executionId) : undefined;
  const current = e?.steps.find((s) => s.status === 'running' || s.status === 'retrying');
  return (
    <>
      <p class="crumbs">
        <a href="#/tenants">Tenants</a> / {e ? <a href={href('tenants', e.tenantId)}>{e.tenantId}</a> : '…'} /{' '}
        {e?.name ?? nameOf(executionId)}
      </p>
      <h1>
        <span class="mono">{e?.name ?? nameOf(executionId)}</span>{' '}
        {e ? <Badge status={e.status} testId="execution-status" /> : null}
      </h1>
      <ErrorBanner error={polled.error} />
      {!e ? (
        polled.error ? null : (
          <Loading what="the execution" />
        )
      ) : (
        <>
          <section class="card">
            <div class="card-head">
              <h2>
                {workflow ? `${workflow} of ` : ''}
                <a href={href('tenants', e.tenantId)}>{e.tenantId}</a>
              </h2>
              <div class="actions">
                {e.status === 'RUNNING' ? (
                  <ActionButton
                    label="Cancel"
                    busyLabel="Cancelling…"
                    kind="danger"
                    testId="cancel"
                    confirm={`Cancel ${e.name}? What it made so far is cleaned up.`}
                    run={async () => {
                      await call<Cancelled>('CancelExecution', { params: { executionId: e.name } });
                      polled.reload();
                    }}
                  />
                ) : null}
                {REDRIVABLE.has(e.status) ? (
                  <ActionButton
                    label={e.redrivenBy ? 'Open its redrive' : 'Redrive'}
                    busyLabel="Starting…"
                    kind="primary"
                    testId="redrive"
                    run={async () => {
                      const started = await call<StartedExecution>('RedriveExecution', {
                        params: { executionId: e.name },
                      });
                      navigate(href('executions', started.executionName));
                    }}
                  />
                ) : null}
              </div>
            </div>
            <Facts
              items={[
                ['Started', formatTime(e.startedAt)],
                ['Stopped', e.stoppedAt ? formatTime(e.stoppedAt) : 'running'],
                ['Took', formatDuration(between(e.startedAt, e.stoppedAt))],
                ...(e.status === 'RUNNING'
                  ? ([['Now', current ? `${current.name} (${current.status})` : 'between steps']] as [
                      string,
                      string,
                    ][])
                  : []),
                ['Steps', stepCounts(e)],
                ...(e.redriveOf
                  ? ([
                      [
                        'Redrive of',
                        <a href={href('executions', e.redriveOf)} class="mono" data-testid="redrive-of">
                          {nameOf(e.redriveOf)}
                        </a>,
                      ],
                    ] as [string, ComponentChildren][])
                  : []),
                ...(e.redrivenBy
                  ? ([
                      [
                        'Redriven by',
                        <a href={href('executions', e.redrivenBy)} class="mono" data-testid="redriven-by">
                          {nameOf(e.redrivenBy)}
                        </a>,
                      ],
                    ] as [string, ComponentChildren][])
                  : []),
              ]}
            />
            {e.error ? (
              <div class="banner banner-error" data-testid="execution-error">
                <strong>{e.error.error}</strong>: {e.error.cause}
              </div>
            ) : null}
          </section>
          <section class="card graph-card">
            <h2>
              Steps{' '}
              {e.status === 'RUNNING' ? (
                <span class="live" data-testid="live">
                  live
                </span>
              ) : null}
            </h2>
            <div class="graph-layout">
              <div class="graph-scroll">
                <StepGraph execution={e} />
              </div>
              <div class="legend" aria-hidden="true">
                {Object.entries(STEP_STATUS_MEANING).map(([status, meaning]) => (
                  <span key={status} class="legend-item" title={meaning}>
                    <span class={`swatch swatch-${status}`} />
                    {status}
                  </span>
                ))}
              </div>
            </div>
            <StepsTable execution={e} />
          </section>
          <History executionId={e.executionId} />
        </>
      )}
    </>
  );
}
