import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { cliProgram } from '../../local/cli';
import type { ApiServer } from '../../local/server';
import { type RouteId, routeById } from '../../shared/api/route-table';
import { apiSchemas } from '../../shared/api/schemas';
import { startTestApi } from '../support/api';
import { blueprintSandbox } from '../support/blueprints';
import { cli, embeddedCliFolder } from '../support/cli';
import { type TestDatabase, testBackends } from '../support/databases';
import { addDocexVersion, cliBlueprintSandbox, DOCEX_V2 } from '../support/migrating';
import { suiteBackupDir, tempDir } from '../support/temp-dirs';

/**
 * The CLI's contract (README "CLI"): `--help` for every command, `--json` answers that are the
 * API's response bodies, and the documented exit codes, the same in process and with --api.
 */

/** Every command of the program, as the words that name it (`['rollout', 'start']`). */
function commandPaths(cmd: Command, prefix: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [{ path: [...prefix, c.name()], cmd: c }, ...commandPaths(c, [...prefix, c.name()])]);
}

describe('tenantry --help', () => {
  const commands = commandPaths(cliProgram());

  it('knows every command the README lists', () => {
    const names = commands.map((c) => c.path.join(' '));
    for (const name of [
      'provision',
      'deprovision',
      'cancel-deprovision',
      'restore',
      'migrate',
      'status',
      'execution',
      'list',
      'verify',
      'labels',
      'domains',
      'audit',
      'reconcile',
      'reconciliation',
      'cancel',
      'redrive',
      'stats',
      'rollout plan',
      'rollout start',
      'rollout status',
      'rollout list',
      'rollout pause',
      'rollout resume',
      'rollout cancel',
      'template list',
      'template show',
      'template versions',
      'template create',
      'template update',
      'template archive',
      'template delete',
      'blueprint list',
      'blueprint lock',
      'blueprint import',
    ])
      expect(names).toContain(name);
  });

  it('exits 0 for every command and subcommand, showing its usage and every flag', async () => {
    for (const { path, cmd } of commands) {
      const help = await cli(...path, '--help');
      expect(help.code, path.join(' ')).toBe(0);
      expect(help.out).toContain(`Usage: tenantry ${path.join(' ')}`);
      for (const option of cmd.options) expect(help.out, path.join(' ')).toContain(option.long as string);
      // And as `tenantry help <command>` (`tenantry rollout help start` one level down).
      const via = await cli(...path.slice(0, -1), 'help', path.at(-1) as string);
      expect(via.code, `help ${path.join(' ')}`).toBe(0);
      expect(via.out).toBe(help.out);
    }
  });

  it('shows the global flags, the exit codes and the environment in the main help', async () => {
    for (const argv of [['--help'], ['help']]) {
      const help = await cli(...argv);
      expect(help.code).toBe(0);
      for (const text of [
        '--api <url>',
        '--json',
        'Exit codes:',
        '3  not found',
        '4  conflict',
        'DATABASE_URL',
      ])
        expect(help.out).toContain(text);
    }
    // No command at all: the help, on stderr, as a usage error.
    const none = await cli();
    expect(none.code).toBe(2);
    expect(none.err).toContain('Usage: tenantry [options] [command]');
  });
});

/** The zod schema of a route's success body (route-table.ts `ok`: a component, or a oneOf of them). */
function responseSchema(id: RouteId): z.ZodType {
  const [, body] = routeById(id).ok as readonly [number, unknown];
  const component = (name: string) => {
    const schema = apiSchemas._idmap.get(name);
    if (!schema) throw new Error(`no component ${name}`);
    return schema as z.ZodType;
  };
  if (typeof body === 'string') return component(body);
  const refs = (body as { oneOf: { $ref: string }[] }).oneOf.map((r) =>
    component(r.$ref.split('/').at(-1) ?? ''),
  );
  return z.union(refs as [z.ZodType, z.ZodType]);
}

interface Mode {
  readonly name: string;
  /** The CLI, in this mode. */
  run(...argv: string[]): ReturnType<typeof cli>;
  /** A docex v2 with its lock, for migrate and rollout. */
  addDocexV2(): Promise<void>;
  /** A docex v3 with its lock, for a rollout to act on while it runs (with --api only). */
  addDocexV3?(): Promise<void>;
}

function inProcess(): Mode {
  embeddedCliFolder('tenantry-cli-contract-');
  const blueprints = cliBlueprintSandbox();
  return {
    name: 'in process',
    run: (...argv) => cli(...argv),
    addDocexV2: async () => {
      await blueprints.addDocexVersion('0002_priority_and_notes.sql', DOCEX_V2);
    },
  };
}

/** Holds every task of one state at its start until released: a run to act on while it runs. */
class Hold {
  private state: string | undefined;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};

  /** From now on, a task of `state` waits at its start until `release()`. */
  hold(state: string): void {
    this.state = state;
    this.gate = new Promise((done) => {
      this.open = done;
    });
  }

  release(): void {
    this.state = undefined;
    this.open();
  }

  at(state: string): Promise<void> {
    return state === this.state ? this.gate : Promise.resolve();
  }
}

const held = new Hold();

function overHttp(): Mode {
  const sandbox = blueprintSandbox();
  suiteBackupDir('tenantry-cli-contract-backups-');
  let t: TestDatabase | undefined;
  let api: ApiServer | undefined;
  const saved = process.env.TENANTRY_BLUEPRINTS;
  beforeAll(async () => {
    process.env.TENANTRY_BLUEPRINTS = sandbox.root;
    // On a Postgres server when there is one (DATABASE_URL): the read-only routes as the reader role.
    const backend = testBackends().find((b) => b.name === 'postgres') ?? testBackends()[0];
    t = await backend?.open();
    if (!t) throw new Error('no test database');
    api = await startTestApi(t.db, { beforeTask: (state) => held.at(state) });
  });
  afterAll(async () => {
    await api?.close();
    await t?.close();
    if (saved === undefined) delete process.env.TENANTRY_BLUEPRINTS;
    else process.env.TENANTRY_BLUEPRINTS = saved;
    sandbox.dispose();
  });
  return {
    name: 'with --api',
    run: (...argv) => cli('--api', api?.url ?? '', ...argv),
    addDocexV2: async () => {
      if (!t || !api) throw new Error('not started');
      await addDocexVersion(t.db, sandbox, sandbox.catalog(), '0002_priority_and_notes.sql', DOCEX_V2);
      api.engine.engine.blueprints.reload();
    },
    addDocexV3: async () => {
      if (!t || !api) throw new Error('not started');
      await addDocexVersion(t.db, sandbox, sandbox.catalog(), '0003_processor_region.sql', DOCEX_V3);
      api.engine.engine.blueprints.reload();
    },
  };
}

const DOCEX_V3 = 'ALTER TABLE processors ADD COLUMN region text;\n';

describe.each([
  ['in process', inProcess],
  ['with --api', overHttp],
] as const)('tenantry %s', (_, setUp) => {
  const mode = setUp();

  /** Runs a command with --json: exit 0 (or `code`), and the body matching the route's schema. */
  async function json(route: RouteId, argv: string[], code = 0) {
    const res = await mode.run('--json', ...argv);
    expect(res.code, `${argv.join(' ')}: ${res.err}`).toBe(code);
    const body = JSON.parse(res.out) as unknown;
    const parsed = responseSchema(route).safeParse(body);
    expect(parsed.success, `${argv.join(' ')}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    return body as Record<string, unknown>;
  }

  it("--json prints each data command's API answer, matching the route's response schema", async () => {
    const started = await json('StartTenant', ['provision', 'ct-one', '--blueprint', 'docex', '--watch']);
    expect(started).toMatchObject({ tenantId: 'ct-one', started: true });
    await json('StartTenant', ['provision', 'ct-two', '--blueprint', 'docex', '--watch']);
    expect(await json('GetTenant', ['status', 'ct-one'])).toMatchObject({
      tenantId: 'ct-one',
      status: 'active',
    });
    const run = await json('GetExecution', ['execution', String(started.executionName)]);
    expect(run).toMatchObject({ status: 'SUCCEEDED' });
    const page = await json('ListTenants', ['list']);
    expect((page.items as { tenantId: string }[]).map((t) => t.tenantId)).toEqual(['ct-one', 'ct-two']);
    expect(await json('SetTenantLabels', ['labels', 'ct-one', 'tier=gold'])).toMatchObject({
      labels: { tier: 'gold' },
    });
    await json('GetTenant', ['labels', 'ct-one']);
    expect(await json('SetTenantDomains', ['domains', 'ct-one', 'CT-One.example.com'])).toMatchObject({
      domains: ['ct-one.example.com'],
    });
    await json('GetTenant', ['domains', 'ct-one']);
    await json('ListTenantAudit', ['audit', 'ct-one']);
    await json('ListAudit', ['audit', '--limit', '5']);
    expect(await json('GetTenantDrift', ['verify', 'ct-one'])).toMatchObject({ drifted: false });
    await json('GetStats', ['stats']);

    await json('ListTemplates', ['template', 'list']);
    await json('GetTemplate', ['template', 'show', 'basic-school-system']);
    await json('ListTemplateVersions', ['template', 'versions', 'basic-school-system']);
    const file = join(tempDir('tenantry-cli-contract-template-'), 'pilot.json');
    const definition = {
      name: 'CT Pilot',
      category: 'custom',
      blueprint: 'docex',
      blueprintVersion: 1,
      limits: {},
    };
    writeFileSync(file, JSON.stringify(definition));
    await json('CreateTemplate', ['template', 'create', '--file', file]);
    writeFileSync(file, JSON.stringify({ ...definition, limits: { maxUsers: 3 } }));
    expect(await json('UpdateTemplate', ['template', 'update', 'ct-pilot', '--file', file])).toMatchObject({
      currentVersion: 2,
    });
    expect(await json('ArchiveTemplate', ['template', 'archive', 'ct-pilot'])).toMatchObject({
      status: 'archived',
    });

    await mode.addDocexV2();
    await json('MigrateTenant', ['migrate', 'ct-one', '--watch']);
    await json('PlanRollout', ['rollout', 'plan', '--blueprint', 'docex']);
    const rollout = await json('StartRollout', ['rollout', 'start', '--blueprint', 'docex', '--watch']);
    expect(await json('GetRollout', ['rollout', 'status', String(rollout.rolloutId)])).toMatchObject({
      status: 'succeeded',
      counts: { succeeded: 1 },
    });
    await json('ListRollouts', ['rollout', 'list']);

    expect(await json('DeprovisionTenant', ['deprovision', 'ct-two', '--grace-hours', '24'])).toMatchObject({
      scheduled: true,
    });
    await json('CancelDeprovision', ['cancel-deprovision', 'ct-two']);
    expect(await json('DeprovisionTenant', ['deprovision', 'ct-two', '--watch'])).toMatchObject({
      scheduled: false,
    });
    await json('RestoreTenant', ['restore', 'ct-two', '--watch']);
    expect(await json('GetTenant', ['status', 'ct-two'])).toMatchObject({ status: 'active' });
  });

  it('exits 0 done, 1 failed, 2 bad usage or input, 3 not found, 4 conflict', async () => {
    const done = await mode.run('status', 'ct-one');
    expect(done.code).toBe(0);
    // A run that fails (Validate refuses an admin user without a template): 1, after its steps.
    const failed = await mode.run(
      'provision',
      'ct-bad',
      '--blueprint',
      'docex',
      '--admin-email',
      'a@b.example',
      '--watch',
    );
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/✗ Validate/);
    expect(failed.err).toMatch(/^Provisioning ct-bad failed: ValidationError: adminUser: /);
    // Its redrive fails the same way: the API's answer, then 1.
    const name = /execution (ct-bad-\S+)/.exec(failed.out)?.[1] ?? '';
    const redrive = await mode.run('--json', 'redrive', name, '--watch');
    expect(redrive.code).toBe(1);
    expect(responseSchema('RedriveExecution').safeParse(JSON.parse(redrive.out)).success).toBe(true);
    // Usage: an unknown flag (before any request), and input the API refuses with 400.
    expect(await mode.run('provision', 'ct-x', '--colour')).toMatchObject({ code: 2 });
    expect(await mode.run('provision', 'Bad Id')).toMatchObject({ code: 2 });
    expect(await mode.run('verify', 'ct-one', '--concurrency', '2')).toMatchObject({ code: 2 });
    // Not found: 404.
    expect(await mode.run('status', 'nobody')).toMatchObject({
      code: 3,
      err: "tenantry: no tenant 'nobody'",
    });
    expect(await mode.run('execution', 'nobody-0123456789abcdef')).toMatchObject({ code: 3 });
    expect(await mode.run('template', 'show', 'no-such-template')).toMatchObject({ code: 3 });
    // Conflict: 409.
    const conflict = await mode.run('provision', 'ct-one', '--blueprint', 'school-erp');
    expect(conflict).toMatchObject({
      code: 4,
      err: "tenantry: tenant 'ct-one' already exists (status active)",
    });
    expect((await mode.run('cancel-deprovision', 'ct-one')).code).toBe(4);
  });

  // Locally a command waits for the run it starts: only through an API can another command act on
  // a run while it runs.
  if (mode.name === 'with --api')
    it("--json on cancel and rollout pause|resume|cancel prints the route's answer, for runs still running", async () => {
      // Each run is held at a step until the command has answered.
      held.hold('Seed');
      try {
        const started = await json('StartTenant', ['provision', 'ct-held', '--blueprint', 'docex']);
        expect(await json('CancelExecution', ['cancel', String(started.executionName)])).toMatchObject({
          status: expect.stringMatching(/^(ABORTED|RUNNING)$/),
        });
      } finally {
        held.release();
      }
      held.hold('Select');
      try {
        // A version the fleet is not at yet, so that the rollout has a tenant to migrate.
        await mode.addDocexV3?.();
        const rollout = await json('StartRollout', ['rollout', 'start', '--blueprint', 'docex']);
        const id = String(rollout.rolloutId);
        expect(await json('PauseRollout', ['rollout', 'pause', id])).toMatchObject({ rolloutId: id });
        expect(await json('ResumeRollout', ['rollout', 'resume', id])).toMatchObject({ rolloutId: id });
        expect(await json('CancelRollout', ['rollout', 'cancel', id])).toMatchObject({ rolloutId: id });
      } finally {
        held.release();
      }
    });

  it('has the same commands both ways; those on local files say so with --api', async () => {
    const list = await mode.run('blueprint', 'list');
    if (mode.name === 'in process') {
      expect(list.code).toBe(0);
      const reconciled = await mode.run('--json', 'reconcile');
      expect(responseSchema('GetReconciliation').safeParse(JSON.parse(reconciled.out)).success).toBe(true);
      await json('GetReconciliation', ['reconciliation'], reconciled.code);
    } else {
      expect(list).toMatchObject({
        code: 2,
        err: 'tenantry: blueprint works on the files of this checkout: run it without --api',
      });
      expect((await mode.run('reconcile')).code).toBe(2);
      expect((await mode.run('serve')).code).toBe(2);
      // The server's blueprints are its own: a folder on this machine cannot be named.
      expect(await mode.run('--blueprints', '.', 'list')).toMatchObject({
        code: 2,
        err: 'tenantry: --blueprints names blueprints on this machine; with --api the server has its own',
      });
      // The reconciler has not run against this API's database: nothing to show.
      expect((await mode.run('reconciliation')).code).toBe(3);
    }
  });
});
