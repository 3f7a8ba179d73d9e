import { call, type Template, type TemplateList, type TemplateVersions } from './api';
import { Badge, Empty, ErrorBanner, Facts, formatTime, href, Loading, plural, usePoll } from './ui';

export function TemplatesView() {
  const list = usePoll(
    'templates:all',
    () => call<TemplateList>('ListTemplates', { query: { includeArchived: true } }),
    () => 5000,
  );
  return (
    <>
      <h1>Templates</h1>
      <section class="card">
        <ErrorBanner error={list.error} />
        {!list.data ? (
          <Loading what="templates" />
        ) : list.data.items.length === 0 ? (
          <Empty>
            No templates yet. Create one with <code>POST /templates</code> or{' '}
            <code>tenantry template create --file template.json</code>.
          </Empty>
        ) : (
          <table class="table" data-testid="templates-table">
            <thead>
              <tr>
                <th scope="col">Template</th>
                <th scope="col">Category</th>
                <th scope="col">Blueprint</th>
                <th scope="col">Status</th>
                <th scope="col">Version</th>
                <th scope="col">Live tenants</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((t) => (
                <tr key={t.templateId}>
                  <td>
                    <a href={href('templates', t.templateId)} class="strong">
                      {t.name}
                    </a>
                    <div class="muted small mono">{t.templateId}</div>
                  </td>
                  <td>{t.category.replaceAll('_', ' ')}</td>
                  <td>
                    {String(t.definition.blueprint)}{' '}
                    <span class="version">v{String(t.definition.blueprintVersion)}</span>
                  </td>
                  <td>
                    <Badge status={t.status} />
                  </td>
                  <td>v{t.currentVersion}</td>
                  <td>{t.tenants}</td>
                  <td class="muted">{formatTime(t.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

interface Rows {
  readonly table: string;
  readonly rows: readonly unknown[];
}

const rowsOf = (value: unknown): Rows[] => (Array.isArray(value) ? (value as Rows[]) : []);

function Definition({ template }: { template: Template }) {
  const d = template.definition;
  const settings = Object.entries((d.settings ?? {}) as Record<string, unknown>);
  const limits = Object.entries((d.limits ?? {}) as Record<string, unknown>);
  const initial = rowsOf(d.initialData);
  const admin = d.adminUser as { description?: string; rows?: unknown } | undefined;
  return (
    <>
      {typeof d.description === 'string' && d.description ? <p>{d.description}</p> : null}
      <Facts
        items={[
          [
            'Blueprint',
            <>
              {String(d.blueprint)} <span class="version">v{String(d.blueprintVersion)}</span>
            </>,
          ],
          ['Category', template.category.replaceAll('_', ' ')],
          ['Live tenants', String(template.tenants)],
          ['Updated', formatTime(template.updatedAt)],
          [
            'Settings',
            settings.length
              ? settings.map(([k, v]) => <code key={k} class="label">{`${k}=${String(v)}`}</code>)
              : '—',
            'wide',
          ],
          [
            'Limits',
            limits.length
              ? limits.map(([k, v]) => <code key={k} class="label">{`${k}=${String(v)}`}</code>)
              : '—',
            'wide',
          ],
          [
            'Initial data',
            initial.length
              ? initial.map((t) => `${t.table} (${plural(t.rows.length, 'row')})`).join(', ')
              : '—',
          ],
          [
            'Admin user',
            admin
              ? `${admin.description || 'One admin user per tenant.'} Rows in ${rowsOf(admin.rows)
                  .map((t) => t.table)
                  .join(', ')}.`
              : '—',
          ],
        ]}
      />
    </>
  );
}

export function TemplateView({ templateId }: { templateId: string }) {
  const template = usePoll(
    `template:${templateId}`,
    () => call<Template>('GetTemplate', { params: { templateId } }),
    () => undefined,
  );
  const versions = usePoll(
    `template-versions:${templateId}`,
    () => call<TemplateVersions>('ListTemplateVersions', { params: { templateId } }),
    () => undefined,
  );
  const t = template.data;
  return (
    <>
      <p class="crumbs">
        <a href="#/templates">Templates</a> / {templateId}
      </p>
      <h1>
        {t?.name ?? templateId} {t ? <Badge status={t.status} /> : null}
      </h1>
      <ErrorBanner error={template.error} />
      {t ? (
        <section class="card">
          <div class="card-head">
            <h2>
              Version {t.currentVersion} <span class="muted small mono">{t.templateId}</span>
            </h2>
            {t.status === 'active' ? (
              <a
                class="button button-primary"
                href={`#/tenants?template=${encodeURIComponent(t.templateId)}`}
              >
                Provision from it
              </a>
            ) : null}
          </div>
          <Definition template={t} />
        </section>
      ) : template.error ? null : (
        <Loading what="the template" />
      )}
      <section class="card">
        <h2>Versions</h2>
        <ErrorBanner error={versions.error} />
        {versions.data ? (
          <table class="table compact">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Blueprint</th>
                <th scope="col">Created by</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {versions.data.items.map((v) => (
                <tr key={v.version}>
                  <td>v{v.version}</td>
                  <td>
                    {String(v.definition.blueprint)} v{String(v.definition.blueprintVersion)}
                  </td>
                  <td>{v.createdBy}</td>
                  <td class="muted">{formatTime(v.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
    </>
  );
}
