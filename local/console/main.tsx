import './styles.css';
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { ExecutionView } from './execution';
import { RolloutsView, RolloutView } from './rollouts';
import { TemplatesView, TemplateView } from './templates';
import { TenantsView, TenantView } from './tenants';
import { type ConsoleLocation, useLocation } from './ui';

/**
 * The Tenantry web console: a page the local server (`npm start`) serves at `/`, reading and acting
 * through the same JSON routes as the CLI. Views are addressed by the URL's hash:
 * `#/tenants`, `#/tenants/<id>`, `#/executions/<name or ARN>`, `#/rollouts[/<id>]`, `#/templates[/<id>]`.
 */

const SECTIONS = [
  ['tenants', 'Tenants'],
  ['rollouts', 'Rollouts'],
  ['templates', 'Templates'],
] as const;

function View({ location }: { location: ConsoleLocation }) {
  const [section = 'tenants', id] = location.parts;
  switch (section) {
    case 'tenants':
      return id ? <TenantView tenantId={id} /> : <TenantsView query={location.query} />;
    case 'executions':
      return id ? <ExecutionView executionId={id} /> : <TenantsView query={location.query} />;
    case 'rollouts':
      return id ? <RolloutView rolloutId={id} /> : <RolloutsView />;
    case 'templates':
      return id ? <TemplateView templateId={id} /> : <TemplatesView />;
    default:
      return (
        <p class="empty">
          Nothing here. <a href="#/tenants">Go to the tenants</a>.
        </p>
      );
  }
}

function App() {
  const location = useLocation();
  const [section = 'tenants', id] = location.parts;
  const current = section === 'executions' ? 'tenants' : section;
  useEffect(() => {
    document.title = `${id ?? SECTIONS.find(([s]) => s === current)?.[1] ?? 'Tenantry'} · Tenantry console`;
  }, [current, id]);
  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/tenants">
          Tenantry
        </a>
        <nav aria-label="Sections">
          {SECTIONS.map(([s, label]) => (
            <a key={s} href={`#/${s}`} aria-current={current === s ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <a class="api-link" href="/openapi.json">
          API
        </a>
      </header>
      <main>
        <View location={location} />
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
