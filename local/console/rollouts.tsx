import { call, type Rollout, type RolloutAction, type RolloutPage } from './api';
import {
  ActionButton,
  Badge,
  Empty,
  ErrorBanner,
  Facts,
  formatTime,
  href,
  Loading,
  plural,
  usePoll,
} from './ui';

const ACTIVE = new Set(['running', 'paused']);

export function RolloutsView() {
  const page = usePoll(
    'rollouts',
    () => call<RolloutPage>('ListRollouts', { query: { limit: 100 } }),
    (p) => (p?.items.some((r) => ACTIVE.has(r.status)) ? 1000 : 5000),
  );
  return (
    <>
      <h1>Rollouts</h1>
      <section class="card">
        <ErrorBanner error={page.error} />
        {!page.data ? (
          <Loading what="rollouts" />
        ) : page.data.items.length === 0 ? (
          <Empty>
            No rollouts yet. Start one with <code>tenantry rollout start</code> or <code>POST /rollouts</code>
            .
          </Empty>
        ) : (
          <table class="table" data-testid="rollouts-table">
            <thead>
              <tr>
                <th scope="col">Rollout</th>
                <th scope="col">Blueprint</th>
                <th scope="col">Status</th>
                <th scope="col">Requested by</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((r) => (
                <tr key={r.rolloutId}>
                  <td>
                    <a href={href('rollouts', r.rolloutId)} class="mono">
                      {r.rolloutId}
                    </a>
                  </td>
                  <td>
                    {r.blueprint} → <span class="version">v{r.targetVersion}</span>
                  </td>
                  <td>
                    <Badge status={r.status} />
                    {r.pauseRequested && r.status === 'running' ? (
                      <span class="muted small"> pausing</span>
                    ) : null}
                  </td>
                  <td>{r.requestedBy}</td>
                  <td class="muted">{formatTime(r.createdAt)}</td>
                  <td class="muted">{formatTime(r.finishedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function Counts({ counts }: { counts: Record<string, number> }) {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <span class="counts">
      {entries.map(([status, n]) => (
        <span key={status} class={`count badge badge-${status}`}>
          {n} {status}
        </span>
      ))}
    </span>
  );
}

export function RolloutView({ rolloutId }: { rolloutId: string }) {
  const polled = usePoll(
    `rollout:${rolloutId}`,
    () => call<Rollout>('GetRollout', { params: { rolloutId }, query: { limit: 1000 } }),
    (r) => (r === undefined || ACTIVE.has(r.status) ? 1000 : 5000),
  );
  const r = polled.data;
  const act = (id: 'PauseRollout' | 'ResumeRollout' | 'CancelRollout') => async () => {
    await call<RolloutAction>(id, { params: { rolloutId } });
    polled.reload();
  };
  return (
    <>
      <p class="crumbs">
        <a href="#/rollouts">Rollouts</a> / {rolloutId}
      </p>
      <h1>
        <span class="mono">{rolloutId}</span> {r ? <Badge status={r.status} testId="rollout-status" /> : null}
      </h1>
      <ErrorBanner error={polled.error} />
      {!r ? (
        polled.error ? null : (
          <Loading what="the rollout" />
        )
      ) : (
        <>
          <section class="card">
            <div class="card-head">
              <h2>
                {r.blueprint} to version {r.targetVersion}
              </h2>
              <div class="actions">
                {r.status === 'running' && !r.pauseRequested ? (
                  <ActionButton label="Pause" busyLabel="Pausing…" testId="pause" run={act('PauseRollout')} />
                ) : null}
                {r.status === 'paused' || r.status === 'halted' ? (
                  <ActionButton
                    label="Resume"
                    busyLabel="Resuming…"
                    kind="primary"
                    testId="resume"
                    run={act('ResumeRollout')}
                  />
                ) : null}
                {ACTIVE.has(r.status) || r.status === 'halted' ? (
                  <ActionButton
                    label="Cancel"
                    busyLabel="Cancelling…"
                    kind="danger"
                    testId="cancel-rollout"
                    confirm={`Cancel rollout ${r.rolloutId}? No further tenant is started.`}
                    run={act('CancelRollout')}
                  />
                ) : null}
              </div>
            </div>
            <Facts
              items={[
                ['Tenants', <Counts counts={r.counts} />],
                ['Pause requested', r.pauseRequested ? 'yes, before the next wave' : 'no'],
                ...(r.haltReason ? ([['Halted because', r.haltReason]] as [string, string][]) : []),
                ['Requested by', r.requestedBy],
                ['Started', formatTime(r.createdAt)],
                ['Finished', formatTime(r.finishedAt)],
                [
                  'Execution',
                  r.executionId ? (
                    <a href={href('executions', r.executionId)} class="mono">
                      {r.executionId.split(':').at(-1)}
                    </a>
                  ) : (
                    '—'
                  ),
                ],
              ]}
            />
          </section>
          <section class="card">
            <h2>Waves</h2>
            {r.waves.length === 0 ? (
              <Empty>No waves planned.</Empty>
            ) : (
              <ol class="waves" data-testid="waves">
                {r.waves.map((w) => {
                  const tenants = r.tenants.filter((t) => t.wave === w.wave);
                  return (
                    <li key={w.wave} class="wave" data-testid={`wave-${w.wave}`}>
                      <div class="wave-head">
                        <h3>{w.wave === 0 ? 'Canary (wave 0)' : `Wave ${w.wave}`}</h3>
                        <span class="muted small">{plural(tenants.length, 'tenant')}</span>
                        <Counts counts={w.counts} />
                      </div>
                      <table class="table compact">
                        <thead>
                          <tr>
                            <th scope="col">Tenant</th>
                            <th scope="col">Status</th>
                            <th scope="col">Version</th>
                            <th scope="col">Attempts</th>
                            <th scope="col">Migrate execution</th>
                            <th scope="col">Error or reason</th>
                          </tr>
                        </thead>
                        <tbody>
                          {tenants.map((t) => (
                            <tr key={t.tenantId}>
                              <td>
                                <a href={href('tenants', t.tenantId)}>{t.tenantId}</a>
                              </td>
                              <td>
                                <Badge status={t.status} />
                              </td>
                              <td>
                                v{t.fromVersion} → v{t.toVersion}
                              </td>
                              <td>{t.attempts}</td>
                              <td>
                                {t.executionName ? (
                                  <a href={href('executions', t.executionName)} class="mono small">
                                    {t.executionName}
                                  </a>
                                ) : (
                                  '—'
                                )}
                              </td>
                              <td class="small">
                                {t.reason ??
                                  (t.error
                                    ? typeof t.error === 'string'
                                      ? t.error
                                      : JSON.stringify(t.error)
                                    : '')}
                              </td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </li>
                  );
                })}
              </ol>
            )}
          </section>
        </>
      )}
    </>
  );
}
