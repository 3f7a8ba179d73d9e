import { useState } from 'preact/hooks';
import {
  call,
  type ExecutionPage,
  type StartedExecution,
  type Stats,
  type TemplateList,
  type Tenant,
  type TenantPage,
} from './api';
import {
  ActionButton,
  Badge,
  between,
  Empty,
  ErrorBanner,
  Facts,
  formatDuration,
  formatTime,
  href,
  Loading,
  navigate,
  plural,
  usePoll,
} from './ui';

/** What the tenant's last verify found: drifted (how much), clean, or never verified. */
export function driftOf(t: Pick<Tenant, 'drift' | 'driftCheckedAt'>): { label: string; state: string } {
  if (t.drift) {
    const n = t.drift.missing.length + t.drift.unexpected.length + t.drift.changed.length;
    return { label: `drifted: ${plural(n, 'difference')}`, state: 'drifted' };
  }
  return t.driftCheckedAt
    ? { label: 'clean', state: 'clean' }
    : { label: 'not verified', state: 'unverified' };
}

function Drift({ tenant }: { tenant: Tenant }) {
  const { label, state } = driftOf(tenant);
  return <span class={`drift drift-${state}`}>{label}</span>;
}

function ProvisionForm({ blueprints, initialTemplate }: { blueprints: string[]; initialTemplate: string }) {
  const templates = usePoll(
    'templates',
    () => call<TemplateList>('ListTemplates'),
    () => undefined,
  );
  const [tenantId, setTenantId] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [blueprint, setBlueprint] = useState('');
  const [template, setTemplate] = useState(initialTemplate);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const started = await call<StartedExecution>('StartTenant', {
        body: {
          tenantId: tenantId.trim(),
          displayName: displayName.trim() || tenantId.trim(),
          requestedBy: 'console',
          ...(blueprint.trim() ? { blueprint: blueprint.trim() } : {}),
          ...(template ? { template } : {}),
          ...(template && email ? { adminUser: { email: email.trim(), password } } : {}),
        },
      });
      navigate(href('executions', started.executionName));
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };

  return (
    <form class="card form" onSubmit={submit} aria-labelledby="provision-title" data-testid="provision-form">
      <h2 id="provision-title">Provision a tenant</h2>
      <div class="fields">
        <label>
          Tenant id
          <input
            name="tenantId"
            required
            value={tenantId}
            onInput={(e) => setTenantId(e.currentTarget.value)}
            placeholder="acme"
            autocomplete="off"
            spellcheck={false}
          />
        </label>
        <label>
          Display name
          <input
            name="displayName"
            value={displayName}
            onInput={(e) => setDisplayName(e.currentTarget.value)}
            placeholder="the tenant id"
          />
        </label>
        <label>
          Blueprint
          <input
            name="blueprint"
            list="blueprints"
            value={blueprint}
            onInput={(e) => setBlueprint(e.currentTarget.value)}
            placeholder={template ? "the template's" : 'docex'}
            required={!template}
            autocomplete="off"
          />
          <datalist id="blueprints">
            {blueprints.map((b) => (
              <option key={b} value={b} />
            ))}
          </datalist>
        </label>
        <label>
          Template
          <select name="template" value={template} onChange={(e) => setTemplate(e.currentTarget.value)}>
            <option value="">none</option>
            {(templates.data?.items ?? [])
              .filter((t) => t.status === 'active')
              .map((t) => (
                <option key={t.templateId} value={t.templateId}>
                  {t.name} (v{t.currentVersion})
                </option>
              ))}
          </select>
        </label>
        {template ? (
          <>
            <label>
              Admin email
              <input
                name="adminEmail"
                type="email"
                value={email}
                onInput={(e) => setEmail(e.currentTarget.value)}
                placeholder="if the template makes one"
              />
            </label>
            <label>
              Admin password
              <input
                name="adminPassword"
                type="password"
                minLength={12}
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
                autocomplete="new-password"
              />
            </label>
          </>
        ) : null}
      </div>
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? 'Starting…' : 'Start provisioning'}
        </button>
        {error ? (
          <span class="action-error" role="alert">
            {error.message}
          </span>
        ) : null}
      </div>
    </form>
  );
}

function Summary({ stats }: { stats: Stats | undefined }) {
  if (!stats) return null;
  const byStatus = Object.entries(stats.tenants.byStatus).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section class="summary" aria-label="Summary">
      <div class="metric">
        <span class="metric-value">{stats.tenants.total}</span>
        <span class="metric-label">tenants</span>
      </div>
      {byStatus.map(([status, n]) => (
        <a class="metric" key={status} href={`#/tenants?status=${encodeURIComponent(status)}`}>
          <span class="metric-value">{n}</span>
          <span class="metric-label">{status.replaceAll('_', ' ')}</span>
        </a>
      ))}
      <div class="metric">
        <span class="metric-value">{stats.running.count}</span>
        <span class="metric-label">running now</span>
      </div>
      <div class="metric">
        <span class="metric-value">{stats.tenants.drift.drifted}</span>
        <span class="metric-label">drifted</span>
      </div>
    </section>
  );
}

export function TenantsView({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? undefined;
  const nextToken = query.get('after') ?? undefined;
  const stats = usePoll(
    'stats',
    () => call<Stats>('GetStats'),
    () => 3000,
  );
  const page = usePoll(
    `tenants:${status}:${nextToken}`,
    () => call<TenantPage>('ListTenants', { query: { status, limit: 100, nextToken } }),
    () => 2000,
  );
  const blueprints = [
    ...new Set([
      ...(page.data?.items ?? []).map((t) => t.blueprint),
      ...Object.keys(stats.data?.tenants.byBlueprint ?? {}),
    ]),
  ].sort();
  return (
    <>
      <h1>Tenants</h1>
      <Summary stats={stats.data} />
      <ProvisionForm blueprints={blueprints} initialTemplate={query.get('template') ?? ''} />
      <section class="card">
        <div class="card-head">
          <h2>{status ? `Tenants that are ${status.replaceAll('_', ' ')}` : 'All tenants'}</h2>
          {status ? <a href="#/tenants">show all</a> : null}
        </div>
        <ErrorBanner error={page.error} />
        {!page.data ? (
          <Loading what="tenants" />
        ) : page.data.items.length === 0 ? (
          <Empty>No tenants yet: provision one above.</Empty>
        ) : (
          <table class="table" data-testid="tenants-table">
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Status</th>
                <th scope="col">Blueprint</th>
                <th scope="col">Template</th>
                <th scope="col">Drift</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((t) => (
                <tr key={t.tenantId} data-testid={`tenant-row-${t.tenantId}`}>
                  <td>
                    <a href={href('tenants', t.tenantId)} class="strong">
                      {t.tenantId}
                    </a>
                    {t.displayName !== t.tenantId ? <div class="muted small">{t.displayName}</div> : null}
                  </td>
                  <td>
                    <Badge status={t.status} />
                  </td>
                  <td>
                    {t.blueprint} <span class="version">v{t.blueprintVersion}</span>
                  </td>
                  <td>
                    {t.templateId ? (
                      <a href={href('templates', t.templateId)}>
                        {t.templateId} <span class="version">v{t.templateVersion}</span>
                      </a>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td>{t.status === 'active' ? <Drift tenant={t} /> : <span class="muted">—</span>}</td>
                  <td class="muted">{formatTime(t.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.data?.nextToken ? (
          <p>
            <a
              href={`#/tenants?${new URLSearchParams({ ...(status ? { status } : {}), after: page.data.nextToken })}`}
            >
              Next page
            </a>
          </p>
        ) : null}
      </section>
    </>
  );
}

export function ExecutionsTable({ tenantId }: { tenantId: string }) {
  const runs = usePoll(
    `executions:${tenantId}`,
    () => call<ExecutionPage>('ListTenantExecutions', { params: { tenantId }, query: { limit: 50 } }),
    (data) => (data?.items.some((e) => e.status === 'RUNNING') ? 1000 : 5000),
  );
  return (
    <section class="card">
      <h2>Provision executions</h2>
      <ErrorBanner error={runs.error} />
      {!runs.data ? (
        <Loading what="executions" />
      ) : runs.data.items.length === 0 ? (
        <Empty>No Provision executions for this tenant.</Empty>
      ) : (
        <table class="table" data-testid="executions-table">
          <thead>
            <tr>
              <th scope="col">Execution</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Took</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.items.map((e) => (
              <tr key={e.executionId} data-testid={`execution-row-${e.name}`}>
                <td>
                  <a href={href('executions', e.name)} class="mono">
                    {e.name}
                  </a>
                </td>
                <td>
                  <Badge status={e.status} />
                </td>
                <td class="muted">{formatTime(e.startedAt)}</td>
                <td class="muted">
                  {e.stoppedAt ? formatDuration(between(e.startedAt, e.stoppedAt)) : 'running'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function TenantView({ tenantId }: { tenantId: string }) {
  const tenant = usePoll(
    `tenant:${tenantId}`,
    () => call<Tenant>('GetTenant', { params: { tenantId } }),
    (t) => (t && ['provisioning', 'migrating', 'deprovisioning'].includes(t.status) ? 1000 : 5000),
  );
  const t = tenant.data;
  return (
    <>
      <p class="crumbs">
        <a href="#/tenants">Tenants</a> / {tenantId}
      </p>
      <h1>
        {tenantId} {t ? <Badge status={t.status} testId="tenant-status" /> : null}
      </h1>
      <ErrorBanner error={tenant.error} />
      {t ? (
        <section class="card">
          <div class="card-head">
            <h2>{t.displayName}</h2>
            {t.status === 'active' ? (
              <ActionButton
                label="Verify drift"
                busyLabel="Verifying…"
                run={async () => {
                  await call('GetTenantDrift', { params: { tenantId } });
                  tenant.reload();
                }}
              />
            ) : null}
          </div>
          <Facts
            items={[
              ['Schema', <span class="mono">{t.schemaName}</span>],
              [
                'Blueprint',
                <>
                  {t.blueprint} <span class="version">v{t.blueprintVersion}</span>
                </>,
              ],
              [
                'Template',
                t.templateId ? (
                  <a href={href('templates', t.templateId)}>
                    {t.templateId} v{t.templateVersion}
                  </a>
                ) : (
                  '—'
                ),
              ],
              [
                'Drift',
                <>
                  <Drift tenant={t} />
                  {t.driftCheckedAt ? (
                    <span class="muted small"> (checked {formatTime(t.driftCheckedAt)})</span>
                  ) : null}
                </>,
              ],
              [
                'Labels',
                Object.entries(t.labels).map(([k, v]) => <code key={k} class="label">{`${k}=${v}`}</code>),
              ],
              [
                'Last execution',
                <a href={href('executions', t.executionId)} class="mono">
                  {t.executionId.split(':').at(-1)}
                </a>,
              ],
              ['Requested by', t.requestedBy],
              ['Created', formatTime(t.createdAt)],
              ['Provisioned', formatTime(t.provisionedAt)],
              ...(t.failedStep ? ([['Failed step', t.failedStep]] as [string, string][]) : []),
              ...(t.deletionDueAt
                ? ([['Deletion due', formatTime(t.deletionDueAt)]] as [string, string][])
                : []),
            ]}
          />
          {t.drift ? (
            <details class="drift-detail">
              <summary>What differs from the blueprint's lock</summary>
              <ul class="mono small">
                {t.drift.missing.map((m) => (
                  <li key={`m${m}`}>missing: {m}</li>
                ))}
                {t.drift.unexpected.map((u) => (
                  <li key={`u${u}`}>unexpected: {u}</li>
                ))}
                {t.drift.changed.map((c) => (
                  <li key={`c${c.key}`}>changed: {c.key}</li>
                ))}
              </ul>
            </details>
          ) : null}
        </section>
      ) : tenant.error ? null : (
        <Loading what="the tenant" />
      )}
      <ExecutionsTable tenantId={tenantId} />
    </>
  );
}
