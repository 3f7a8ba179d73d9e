import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/paths';
import { freshServerDatabase, serverUrl } from '../support/databases';
import { tempDir } from '../support/temp-dirs';

/**
 * The package as a user gets it: `npm pack` of a copy of this checkout (so the build it makes does
 * not replace dist/ under the other tests), installed with npm into an empty folder that holds a
 * blueprint of the user's own (examples/cdk-app/blueprints/notes), then its `tenantry` bin run with
 * npx, its library imported by plain Node, and its type declarations compiled by a NodeNext
 * TypeScript consumer.
 */

/** What the package's build and its tests need from the checkout. */
const SOURCES = [
  'package.json',
  'package-lock.json',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'local',
  'shared',
  'functions',
  'statemachine',
  'infra',
  'examples',
  'docs',
];

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const base: NodeJS.ProcessEnv = { ...process.env, ...env };
  // vitest's loader hooks and the suite's own database are not the user's.
  delete base.NODE_OPTIONS;
  if (!('DATABASE_URL' in env)) delete base.DATABASE_URL;
  const r: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd,
    env: base,
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function expectOk(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.err}\n${r.out}`);
  return r;
}

let consumer = '';
let tarball = '';

beforeAll(() => {
  // 1. The package, built and packed from a copy of the checkout.
  const source = tempDir('tenantry-pack-src-');
  for (const entry of SOURCES) cpSync(join(REPO_ROOT, entry), join(source, entry), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  expectOk(run(process.execPath, ['local/bin/build.mjs', '--package'], source), 'the package build');
  const packs = tempDir('tenantry-pack-');
  const packed = expectOk(
    run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packs], source),
    'npm pack',
  );
  const [info] = JSON.parse(packed.out) as { filename: string }[];
  tarball = join(packs, info?.filename ?? 'missing.tgz');

  // 2. An empty folder of the user's, with their blueprint, and the package installed into it.
  consumer = tempDir('tenantry-user-');
  writeFileSync(
    join(consumer, 'package.json'),
    `${JSON.stringify({ name: 'acme-notes', private: true, type: 'module' }, null, 2)}\n`,
  );
  cpSync(join(REPO_ROOT, 'examples', 'cdk-app', 'blueprints'), join(consumer, 'blueprints'), {
    recursive: true,
  });
  expectOk(
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
      consumer,
    ),
    'npm install of the packed tarball',
  );
}, 600_000);

describe('the packed package', () => {
  it('holds the build, the bin, the handlers and the example blueprints, and not the tests', () => {
    const listed = run('tar', ['tzf', tarball], REPO_ROOT).out.split('\n');
    const files = new Set(listed.map((f) => f.replace(/^package\//, '')));
    for (const f of [
      'package.json',
      'README.md',
      'local/bin/tenantry.mjs',
      'dist/index.mjs',
      'dist/client.mjs',
      'dist/cdk.mjs',
      'dist/handlers/provision/validate.mjs',
      'dist/types/local/index.d.ts',
      'dist/types/infra/index.d.ts',
      'dist/console/index.html',
      'functions/provision/validate.ts',
      'shared/blueprints/school-erp/blueprint.lock.json',
      'shared/registry/sql/migrations/0001_registry.sql',
      'statemachine/asl/provision.asl.json',
    ])
      expect(files, f).toContain(f);
    expect([...files].filter((f) => /^(test|bench|\.ci)\//.test(f))).toEqual([]);
    expect([...files].filter((f) => f === 'package-lock.json')).toEqual([]);
  });

  it('runs `npx tenantry provision demo1 --watch` with the user blueprint, on embedded PGlite', () => {
    // The user's blueprints folder holds one blueprint, so no --blueprint is needed.
    const provisioned = run(
      'npx',
      ['--no-install', 'tenantry', '--blueprints', 'blueprints', 'provision', 'demo1', '--watch'],
      consumer,
    );
    expect(provisioned.err).toBe('');
    expect(provisioned.code).toBe(0);
    expect(provisioned.out).toContain('Provisioning demo1 from notes on embedded PGlite');
    expect(provisioned.out).toMatch(/✓ Register/);
    expect(provisioned.out).toMatch(
      /Tenant demo1 is active: schema tenant_demo1, 4 tables, \d+ indexes, 3 seed rows/,
    );
    // The embedded database is the user's folder's, not the package's.
    expect(existsSync(join(consumer, '.tenantry', 'pgdata'))).toBe(true);

    // TENANTRY_BLUEPRINTS does what --blueprints does; the status is the API's answer with --json.
    const status = run('npx', ['--no-install', 'tenantry', 'status', 'demo1', '--json'], consumer, {
      TENANTRY_BLUEPRINTS: join(consumer, 'blueprints'),
    });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ tenantId: 'demo1', blueprint: 'notes', status: 'active' });

    // Without the folder, the shipped examples are the blueprints, and notes is not one of them.
    const examples = run('npx', ['--no-install', 'tenantry', 'blueprint', 'list'], consumer);
    expect(examples.code).toBe(0);
    expect(examples.out).toMatch(/^school-erp\s+v\d+ locked/m);
    expect(examples.out).not.toContain('notes');
    const missing = run('npx', ['--no-install', 'tenantry', '--blueprints', 'nowhere', 'list'], consumer);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--blueprints:');
  });

  it.runIf(serverUrl())('provisions with the installed bin on a Postgres server (DATABASE_URL)', async () => {
    const fresh = await freshServerDatabase(serverUrl() as string);
    try {
      const provisioned = run(
        'npx',
        ['--no-install', 'tenantry', 'provision', 'demo2', '--blueprint', 'notes', '--watch'],
        consumer,
        { DATABASE_URL: fresh.url, TENANTRY_BLUEPRINTS: join(consumer, 'blueprints') },
      );
      expect(provisioned.err).toBe('');
      expect(provisioned.code).toBe(0);
      expect(provisioned.out).toMatch(/Tenant demo2 is active: schema tenant_demo2, 4 tables/);
    } finally {
      await fresh.drop();
    }
  });

  it('serves its library to plain Node: the SQL port, the local engine and its API, the client', () => {
    writeFileSync(
      join(consumer, 'library.mjs'),
      `import { BlueprintCatalog, NotFoundError, openDatabase, startApiServer } from 'tenantry';
import { ApiClient } from 'tenantry/client';
import { handler } from 'tenantry/handlers/provision/validate';

const db = await openDatabase({ kind: 'pglite', dataDir: '.tenantry/pgdata' });
const api = await startApiServer({ db, schedulerIntervalMs: 0, sweepIntervalMs: 0 });
try {
  const client = new ApiClient(api.url);
  const tenant = await client.get('/tenants/demo1');
  const unknown = await client.get('/tenants/nobody');
  const rows = await db.query('SELECT count(*)::text AS n FROM tenant_demo1.tag');
  console.log(JSON.stringify({
    tenant: tenant.body,
    unknown: unknown.status,
    tags: rows.rows[0].n,
    blueprints: new BlueprintCatalog('blueprints').names(),
    notFound: new NotFoundError('x').status,
    handler: typeof handler,
  }));
} finally {
  await api.close();
  await db.close();
}
`,
    );
    const r = expectOk(run(process.execPath, ['library.mjs'], consumer), 'the library script');
    const seen = JSON.parse(r.out) as Record<string, unknown>;
    expect(seen).toMatchObject({
      tenant: { tenantId: 'demo1', blueprint: 'notes', status: 'active' },
      unknown: 404,
      tags: '3',
      blueprints: ['notes'],
      notFound: 404,
      handler: 'function',
    });
  });

  it('serves the HTTP API and the web console with `npx tenantry serve`, until SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TENANTRY_BLUEPRINTS: join(consumer, 'blueprints') };
    delete env.NODE_OPTIONS;
    delete env.DATABASE_URL;
    // The installed bin itself (what npx runs), so that SIGTERM reaches the server and no npm between.
    const bin = join(consumer, 'node_modules', '.bin', 'tenantry');
    const server = spawn(bin, ['serve', '--port', '0'], { cwd: consumer, env });
    try {
      let printed = '';
      const url = await new Promise<string>((found, fail) => {
        server.stdout.on('data', (chunk: Buffer) => {
          printed += chunk.toString();
          const m = /Tenantry API on (http:\/\/\S+)/.exec(printed);
          if (m?.[1]) found(m[1]);
        });
        server.once('exit', (code) => fail(new Error(`tenantry serve exited ${code}: ${printed}`)));
      });
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Tenantry console</title>');
      const tenant = await fetch(`${url}/tenants/demo1`);
      expect(await tenant.json()).toMatchObject({ tenantId: 'demo1', blueprint: 'notes', status: 'active' });
      const exited = new Promise<number | null>((done) => server.once('exit', done));
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('types its entries for a TypeScript consumer with NodeNext resolution', () => {
    // The CDK part's peers, as a user's CDK app has them.
    const modules = join(consumer, 'node_modules');
    for (const peer of ['aws-cdk-lib', 'constructs', '@types/node'])
      if (!existsSync(join(modules, peer))) {
        mkdirSync(join(modules, peer, '..'), { recursive: true });
        symlinkSync(join(REPO_ROOT, 'node_modules', peer), join(modules, peer), 'dir');
      }
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['check.ts'],
      }),
    );
    // Each @ts-expect-error fails the compile if the name it marks came through as `any`.
    writeFileSync(
      join(consumer, 'check.ts'),
      `import { BlueprintCatalog, type SqlClient, startApiServer, ValidationError } from 'tenantry';
import { ApiClient } from 'tenantry/client';
import { Tenantry, type TenantryProps, TenantryStack } from 'tenantry/cdk';
import { handler } from 'tenantry/handlers/provision/validate';

export const names: string[] = new BlueprintCatalog('blueprints').names();
// @ts-expect-error a catalog is not a number
export const wrong: number = new BlueprintCatalog('blueprints');
export async function serve(db: SqlClient): Promise<string> {
  const api = await startApiServer({ db });
  // @ts-expect-error the server's url is a string
  const port: number = api.url;
  return \`\${api.url}\${port}\`;
}
export const client = new ApiClient('http://127.0.0.1:3000');
// @ts-expect-error the client takes a base URL
export const bad = new ApiClient(42);
export const stack: typeof TenantryStack = TenantryStack;
export const construct: typeof Tenantry = Tenantry;
export const props: TenantryProps = { blueprints: './blueprints', rollout: false, api: { routes: [] } };
// @ts-expect-error blueprints is a folder's path
export const badProps: TenantryProps = { blueprints: 42 };
export const status: number = new ValidationError([{ field: 'tenantId', reason: 'x' }]).status;
export type Handler = typeof handler;
`,
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = run(process.execPath, [tsc, '-p', 'tsconfig.json'], consumer);
    expect(r.out + r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('was packed with declarations whose relative imports NodeNext can follow', () => {
    const types = join(consumer, 'node_modules', 'tenantry', 'dist', 'types');
    const extensionless: string[] = [];
    for (const f of readdirSync(types, { recursive: true, withFileTypes: true })) {
      if (!f.isFile() || !f.name.endsWith('.d.ts')) continue;
      const text = readFileSync(join(f.parentPath, f.name), 'utf8');
      for (const m of text.matchAll(/from '(\.{1,2}\/[^']*)'/g))
        if (!/\.(js|mjs)$/.test(m[1] as string)) extensionless.push(`${f.name}: ${m[1]}`);
    }
    expect(extensionless).toEqual([]);
  });
});
