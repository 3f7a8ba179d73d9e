import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join, relative } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/paths';
import { ApiClient } from '../../local/api-client';
import { CONSOLE_DIST, ensureConsoleBuilt } from '../../local/console/build.mjs';
import { consoleFile } from '../../local/console-files';
import { type ApiServer, startApiServer } from '../../local/server';
import type { ExecutionResponse } from '../../shared/api/responses';
import { blueprintSandbox } from '../support/blueprints';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, DOCEX_V2 } from '../support/migrating';
import { suiteBackupDir, tempDir } from '../support/temp-dirs';

/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it when it is missing). */
const CHROMIUM = '/usr/bin/chromium';
/** Where the screenshots go: kept by CI as artifacts, ignored by git. */
const SHOTS = join(REPO_ROOT, 'artifacts', 'console');

class InjectedPermanentFault extends Error {
  override name = 'InjectedPermanentFault';
}

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** A raw GET or HEAD, its path sent exactly as given (fetch would resolve `..` and `%2e` first). */
function raw(url: string, path: string, method = 'GET') {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = httpRequest({ hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web console on the local server', () => {
  suiteBackupDir('tenantry-console-');
  let t: TestDatabase;
  let api: ApiServer;
  let http: ApiClient;
  const sandbox = blueprintSandbox();
  const catalog = sandbox.catalog();
  /** What the engine runs before each task attempt; a test sets it and clears it again. */
  let beforeTask: ((state: string, attempt: number) => Promise<void>) | undefined;

  beforeAll(async () => {
    // The page as `npm start` serves it: built from the current sources when they are newer.
    await ensureConsoleBuilt();
    const [pglite] = testBackends();
    if (!pglite) throw new Error('no test database');
    t = await pglite.open();
    api = await startApiServer({
      db: t.db,
      engine: {
        retryDelayMs: 0,
        blueprints: catalog,
        beforeTask: (state, attempt) => beforeTask?.(state, attempt),
      },
      schedulerIntervalMs: 0,
      sweepIntervalMs: 0,
    });
    http = new ApiClient(api.url);
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
    sandbox.dispose();
  });

  describe('its files', () => {
    it('serves the page at / and its hashed assets, with their content types and cache headers', async () => {
      const page = await fetch(`${api.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await page.text();
      expect(html).toBe(readFileSync(join(CONSOLE_DIST, 'index.html'), 'utf8'));
      const script = /<script type="module" src="(\/assets\/main-[A-Z0-9]+\.js)">/.exec(html)?.[1];
      const stylesheet = /<link rel="stylesheet" href="(\/assets\/main-[A-Z0-9]+\.css)">/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect(stylesheet).toBeDefined();
      // Nothing on the page comes from elsewhere.
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);

      const js = await fetch(`${api.url}${script}`);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(await js.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
      const css = await fetch(`${api.url}${stylesheet}`);
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect(await css.text()).toContain('.graph');

      const head = await raw(api.url, '/', 'HEAD');
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      expect((await fetch(`${api.url}/index.html`)).status).toBe(200);
    });

    it('answers 404 for unknown files and for any path out of its folder, and leaves the API as it was', async () => {
      for (const path of [
        '/assets/main-NOPE.js',
        '/assets/',
        '/assets/../package.json',
        '/assets/%2e%2e/%2e%2e/package.json',
        '/assets/..%2f..%2fpackage.json',
        '/assets/%2E%2E%5C..%5Cpackage.json',
        '/assets/.hidden.js',
        '/assets/%00.js',
        '/assets/%E0%A4%A.js',
        '/../package.json',
        '/package.json',
        '/dist/console/index.html',
        '/local/console/main.tsx',
      ]) {
        const res = await raw(api.url, path);
        expect(res.status, path).toBe(404);
        expect(res.headers['content-type'], path).toBe('application/problem+json');
        expect(res.body, path).not.toContain('"name": "tenantry"');
      }
      for (const path of [
        '/assets/../../package.json',
        '/assets/x/../../../package.json',
        '/assets/%2e%2e/x.js',
      ])
        expect(consoleFile(CONSOLE_DIST, path), path).toBeUndefined();
      // Only GET and HEAD read files; the API's routes are matched first, as before.
      expect((await raw(api.url, '/', 'POST')).status).toBe(404);
      const stats = await fetch(`${api.url}/stats`, { headers: { accept: 'text/html' } });
      expect(stats.status).toBe(200);
      expect(stats.headers.get('content-type')).toContain('application/json');
      expect(await stats.json()).toHaveProperty('tenants.total', 0);
      const tenants = await http.get<{ items: unknown[] }>('/tenants');
      expect(tenants.body.items).toEqual([]);
    });
  });

  describe('in chromium', () => {
    let context: BrowserContext;
    let page: Page;
    const shots: string[] = [];
    /** Errors the page reported: none is expected. */
    const problems: string[] = [];

    async function shot(name: string) {
      const path = join(SHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true, animations: 'disabled' });
      expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
      shots.push(path);
      console.log(`screenshot: ${relative(REPO_ROOT, path)}`);
    }

    /** Each step node of the graph and the status it shows. */
    async function nodeStatuses(): Promise<Record<string, string>> {
      const statuses: Record<string, string> = {};
      for (const node of await page.locator('[data-testid^="step-node-"]').all()) {
        const id = (await node.getAttribute('data-testid')) ?? '';
        statuses[id.replace('step-node-', '')] = (await node.getAttribute('data-status')) ?? '';
      }
      return statuses;
    }

    async function apiStatuses(name: string): Promise<Record<string, string>> {
      const res = await http.get<ExecutionResponse>(`/executions/${name}`);
      return Object.fromEntries(res.body.steps.map((s) => [s.name, s.status]));
    }

    /** A link of the console's top navigation. */
    const nav = (name: string) =>
      page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name, exact: true });

    const executionStatus = (status: string) =>
      page.getByTestId('execution-status').filter({ hasText: new RegExp(`^${status}$`) });

    async function provisionThroughForm(tenantId: string, displayName: string) {
      await nav('Tenants').click();
      const form = page.getByTestId('provision-form');
      await form.getByLabel('Tenant id').fill(tenantId);
      await form.getByLabel('Display name').fill(displayName);
      await form.getByLabel('Blueprint').fill('docex');
      await form.getByRole('button', { name: 'Start provisioning' }).click();
      await page.waitForURL(new RegExp(`#/executions/${tenantId}-[0-9a-f]{16}$`));
      return decodeURIComponent(new URL(page.url()).hash.split('/').at(-1) ?? '');
    }

    beforeAll(async () => {
      if (!existsSync(CHROMIUM))
        throw new Error(
          `the console test needs Debian's chromium at ${CHROMIUM}, which is not installed: apt-get install -y chromium`,
        );
      rmSync(SHOTS, { recursive: true, force: true });
      mkdirSync(SHOTS, { recursive: true });
      context = await chromium.launchPersistentContext(tempDir('tenantry-chromium-'), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1280, height: 900 },
        locale: 'en-GB',
        timezoneId: 'UTC',
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(30_000);
      page.on('pageerror', (error) => problems.push(error.message));
      // A failed request or a refused style or script (the page's Content-Security-Policy) shows here.
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      await page.goto(`${api.url}/`);
      await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    });
    afterEach(() => {
      expect(problems.splice(0), 'errors in the page').toEqual([]);
    });
    afterAll(async () => {
      await context?.close();
      if (shots.length > 0)
        console.log(`console screenshots in ${relative(REPO_ROOT, SHOTS)}/: ${shots.length}`);
    });

    it('starts a provisioning from the form and watches its steps turn green, live', async () => {
      const hold = gate();
      beforeTask = async (state) => {
        if (state === 'SyncTables') await hold.opened;
      };
      const name = await provisionThroughForm('acme', 'Acme Inc');

      // While SyncTables is held, the graph shows where the run is.
      await page.locator('[data-testid="step-node-SyncTables"][data-status="running"]').waitFor();
      await expect(executionStatus('running').count()).resolves.toBe(1);
      await page.getByTestId('live').waitFor();
      expect(await nodeStatuses()).toMatchObject({
        Validate: 'succeeded',
        CreateSchema: 'succeeded',
        SyncTables: 'running',
        Seed: 'pending',
        Register: 'pending',
      });
      await expect(page.getByTestId('step-node-SyncTables').textContent()).resolves.toContain('running');
      await shot('01-provisioning-running');
      beforeTask = undefined;
      hold.open();

      await executionStatus('succeeded').waitFor();
      await page.getByTestId('live').waitFor({ state: 'detached' });
      const shown = await nodeStatuses();
      // The graph shows what the API says, and every step that ran is green.
      expect(shown).toEqual(await apiStatuses(name));
      expect(shown).toEqual({
        Validate: 'succeeded',
        CreateSchema: 'succeeded',
        SyncTables: 'succeeded',
        CreateIndexes: 'succeeded',
        RestoreRows: 'skipped',
        Seed: 'succeeded',
        ApplySettings: 'skipped',
        CreateAdminUser: 'skipped',
        LoadInitialData: 'skipped',
        Verify: 'succeeded',
        CreateLogin: 'skipped',
        Register: 'succeeded',
        Cleanup: 'skipped',
      });
      expect(
        await page.evaluate(
          'getComputedStyle(document.querySelector(\'[data-testid="step-node-Seed"] rect\')).fill',
        ),
      ).toBe('rgb(218, 251, 225)');
      await expect(page.getByTestId('end-Succeeded').getAttribute('class')).resolves.toContain('end-reached');
      await shot('02-provisioning-succeeded');

      // The tenant list shows it active, with its blueprint version and drift.
      await nav('Tenants').click();
      const row = page.getByTestId('tenant-row-acme');
      await row.getByText('active', { exact: true }).waitFor();
      await expect(row.textContent()).resolves.toMatch(/docex\s*v1/);
      await expect(row.textContent()).resolves.toContain('not verified');
      await shot('03-tenants');
      await row.getByRole('link', { name: 'acme' }).click();
      await page.getByRole('button', { name: 'Verify drift' }).click();
      await page.getByText('clean', { exact: true }).waitFor();
      await expect(page.getByTestId(`execution-row-${name}`).count()).resolves.toBe(1);
      await shot('04-tenant');
    });

    it('opens a failed execution: its failed step is red with its error; Redrive runs it again to success', async () => {
      let fail = true;
      beforeTask = async (state) => {
        if (state === 'Seed' && fail) throw new InjectedPermanentFault('seed store unreachable');
      };
      const name = await provisionThroughForm('globex', 'Globex Corporation');
      await executionStatus('failed').waitFor();

      // Open it again from the tenant's executions, as someone looking into a failure would.
      await nav('Tenants').click();
      await page.getByTestId('tenant-row-globex').getByText('failed', { exact: true }).waitFor();
      await page.getByTestId('tenant-row-globex').getByRole('link', { name: 'globex' }).click();
      const run = page.getByTestId(`execution-row-${name}`);
      await run.getByText('failed', { exact: true }).waitFor();
      await run.getByRole('link', { name }).click();
      await executionStatus('failed').waitFor();

      const seed = page.getByTestId('step-node-Seed');
      expect(await seed.getAttribute('data-status')).toBe('failed');
      await expect(seed.textContent()).resolves.toContain('InjectedPermanentFault');
      expect(
        await page.evaluate(
          'getComputedStyle(document.querySelector(\'[data-testid="step-node-Seed"] rect\')).stroke',
        ),
      ).toBe('rgb(207, 34, 46)');
      await expect(page.getByTestId('step-error-Seed').textContent()).resolves.toBe(
        'InjectedPermanentFault: seed store unreachable',
      );
      await expect(page.getByTestId('execution-error').textContent()).resolves.toContain(
        'seed store unreachable',
      );
      const shown = await nodeStatuses();
      expect(shown).toEqual(await apiStatuses(name));
      expect(shown).toMatchObject({
        CreateIndexes: 'succeeded',
        Seed: 'failed',
        Verify: 'skipped',
        Cleanup: 'succeeded',
      });
      await expect(page.getByTestId('end-Failed').getAttribute('class')).resolves.toContain('end-failed');
      await expect(page.getByTestId('cancel').count()).resolves.toBe(0);
      await shot('05-failed-execution');

      fail = false;
      await page.getByTestId('redrive').click();
      await page.waitForURL(/#\/executions\/globex-r[0-9a-f]{16}$/);
      await executionStatus('succeeded').waitFor();
      const redrive = decodeURIComponent(new URL(page.url()).hash.split('/').at(-1) ?? '');
      await expect(page.getByTestId('redrive-of').textContent()).resolves.toBe(name);
      const redriven = await nodeStatuses();
      expect(redriven).toEqual(await apiStatuses(redrive));
      expect(redriven).toMatchObject({ Seed: 'succeeded', Register: 'succeeded', Cleanup: 'skipped' });
      expect(Object.values(redriven).every((s) => s === 'succeeded' || s === 'skipped')).toBe(true);
      expect((await http.get('/tenants/globex')).body).toMatchObject({ status: 'active', failedStep: null });
      await shot('06-redriven');
      // Its raw history, on demand.
      await page.getByText('History events').click();
      await page.getByText('ExecutionSucceeded').waitFor();
      beforeTask = undefined;
    });

    it('cancels a running execution with its button', async () => {
      const hold = gate();
      beforeTask = async (state) => {
        if (state === 'SyncTables') await hold.opened;
      };
      const name = await provisionThroughForm('initech', 'Initech');
      await page.locator('[data-testid="step-node-SyncTables"][data-status="running"]').waitFor();
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByTestId('cancel').click();
      await executionStatus('aborted').waitFor();
      hold.open();
      beforeTask = undefined;
      expect(await nodeStatuses()).toMatchObject({ CreateSchema: 'succeeded', SyncTables: 'cancelled' });
      expect((await http.get(`/executions/${name}`)).body).toMatchObject({ status: 'ABORTED' });
      await expect(page.getByTestId('redrive').count()).resolves.toBe(1);
    });

    it("shows a rollout's waves and pauses and resumes it with its buttons", async () => {
      await addDocexVersion(t.db, sandbox, catalog, '0002_priority_and_notes.sql', DOCEX_V2);
      const hold = gate();
      let entered = () => {};
      const inApply = new Promise<void>((r) => {
        entered = r;
      });
      let held = false;
      beforeTask = async (state) => {
        if (state !== 'ApplyMigrations' || held) return;
        held = true;
        entered();
        await hold.opened;
      };
      const started = await http.post<{ rolloutId: string }>('/rollouts', {
        blueprint: 'docex',
        canary: { count: 1 },
        concurrency: 1,
      });
      expect(started.status).toBe(202);
      const id = started.body.rolloutId;
      await inApply;

      await nav('Rollouts').click();
      await page.getByRole('link', { name: id }).click();
      await page
        .getByTestId('rollout-status')
        .filter({ hasText: /^running$/ })
        .waitFor();
      await page.getByTestId('pause').click();
      await page.getByText('yes, before the next wave').waitFor();
      hold.open();
      await page
        .getByTestId('rollout-status')
        .filter({ hasText: /^paused$/ })
        .waitFor();
      await expect(page.getByTestId('wave-0').textContent()).resolves.toContain('1 succeeded');
      await expect(page.getByTestId('wave-1').textContent()).resolves.toContain('1 pending');
      await shot('07-rollout-paused');

      await page.getByTestId('resume').click();
      await page
        .getByTestId('rollout-status')
        .filter({ hasText: /^succeeded$/ })
        .waitFor();
      await expect(page.getByTestId('wave-1').textContent()).resolves.toContain('1 succeeded');
      expect((await http.get<{ status: string }>(`/rollouts/${id}`)).body.status).toBe('succeeded');
      await shot('08-rollout-succeeded');
      beforeTask = undefined;
    });

    it('lists the templates and shows one', async () => {
      await nav('Templates').click();
      const table = page.getByTestId('templates-table');
      await table.waitFor();
      const listed = await http.get<{ items: { templateId: string; name: string }[] }>('/templates');
      expect(listed.body.items.length).toBeGreaterThan(0);
      for (const tpl of listed.body.items) await table.getByRole('link', { name: tpl.name }).waitFor();
      await shot('09-templates');
      const first = listed.body.items[0];
      if (!first) throw new Error('no template');
      await table.getByRole('link', { name: first.name }).click();
      await page.getByRole('heading', { name: 'Versions' }).waitFor();
      await page.getByRole('link', { name: 'Provision from it' }).waitFor();
      await shot('10-template');
    });
  });
});
