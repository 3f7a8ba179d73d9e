import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { TenantryFunction } from '../../infra/constructs/tenantry-function';
import { BLUEPRINTS_DIR, CONTROL_SQL_DIR, REPO_ROOT } from '../../infra/paths';
import { loadControlSql } from '../../shared/registry/control-files';

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

// The one test that bundles for real (esbuild, locally, no Docker): the bundle is an ES module
// with a source map and the blueprints and the control SQL beside it, where the loaders look for them.
describe('a TenantryFunction bundle', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'tenantry-bundle-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  /** Runs `script` in plain Node as Lambda loads a bundle (ESM, no source tree), its index.mjs as argv[1]. */
  const runBundle = (bundle: string, script: string, env: NodeJS.ProcessEnv = process.env): string =>
    execFileSync(process.execPath, ['--input-type=module', '-e', script, join(bundle, 'index.mjs')], {
      env,
      encoding: 'utf8',
    });

  /** The folder of the bundle of one TenantryFunction of `entry`, synthesized in a folder of its own. */
  const bundleOf = (name: string, entry: string): string => {
    const app = new App({ outdir: mkdtempSync(join(outdir, `${name}-`)) });
    new TenantryFunction(new Stack(app, name), name, { entry });
    const assembly = app.synth();
    const [asset] = readdirSync(assembly.directory).filter((f) => f.startsWith('asset.'));
    if (!asset) throw new Error('no asset was bundled');
    return join(assembly.directory, asset);
  };

  it('is ESM with a source map, and carries shared/blueprints at blueprints/', { timeout: 120_000 }, () => {
    const bundle = bundleOf('BlueprintNames', 'test/infra/fixtures/blueprint-names.ts');

    expect(readdirSync(bundle).sort()).toEqual([
      'blueprints',
      'index.mjs',
      'index.mjs.map',
      'sql',
      'tracer.cjs',
    ]);
    expect(readFileSync(join(bundle, 'index.mjs'), 'utf8')).toMatch(
      /^import \{ createRequire \} from 'module';/,
    );
    const source = files(BLUEPRINTS_DIR);
    expect(source.length).toBeGreaterThan(0);
    expect(files(join(bundle, 'blueprints'))).toEqual(source);

    // Run the bundle the way Lambda does: plain Node, ESM, no source tree beside it.
    const env = { ...process.env };
    delete env.TENANTRY_BLUEPRINTS;
    const output = runBundle(
      bundle,
      'const { handler } = await import(process.argv[1]); console.log(JSON.stringify(await handler()));',
      env,
    );
    const names = JSON.parse(output) as string[];
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(
      readdirSync(BLUEPRINTS_DIR)
        .filter((n) => existsSync(join(BLUEPRINTS_DIR, n, 'blueprint.json')))
        .sort(),
    );
  });

  it('prints stacks that name the function without source maps, and its map turns a position into the line', {
    timeout: 120_000,
  }, () => {
    const bundle = bundleOf('Failing', 'test/infra/fixtures/failing-handler.ts');
    // As Lambda runs it: no --enable-source-maps (infra/constructs/tenantry-function.ts).
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const stack = runBundle(
      bundle,
      'const { handler } = await import(process.argv[1]); await handler().catch((e) => console.log(e.stack));',
      env,
    );
    const frame = /at failInNamedFunction \(file:\/\/.*\/index\.mjs:(\d+):(\d+)\)/.exec(stack);
    if (!frame) throw new Error(`no frame names failInNamedFunction in:\n${stack}`);
    // What README ("Observe") tells an operator to run on a position from the logs.
    const map = new SourceMap(JSON.parse(readFileSync(join(bundle, 'index.mjs.map'), 'utf8')));
    const origin = map.findOrigin(Number(frame[1]), Number(frame[2])) as {
      fileName?: string;
      lineNumber?: number;
    };
    expect(origin.fileName).toMatch(/test\/infra\/fixtures\/failing-handler\.ts$/);
    expect(origin.lineNumber).toBe(3);
  });

  it("carries Powertools' Tracer and the X-Ray SDK as tracer.cjs, outside index.mjs", {
    timeout: 120_000,
  }, () => {
    // A real handler: the Powertools middleware (shared/observability/lambda.ts) is in every one.
    const bundle = bundleOf('GetStats', 'functions/api/get-stats.ts');
    // The X-Ray SDK reads its daemon's address from this variable: its code is in tracer.cjs only.
    expect(readFileSync(join(bundle, 'tracer.cjs'), 'utf8')).toContain('AWS_XRAY_DAEMON_ADDRESS');
    expect(readFileSync(join(bundle, 'index.mjs'), 'utf8')).not.toContain('AWS_XRAY_DAEMON_ADDRESS');
    expect(readFileSync(join(bundle, 'index.mjs'), 'utf8')).toContain('tracer.cjs');
    // It loads on its own in plain Node, as the bundle's require does on Lambda.
    const exported = execFileSync(
      process.execPath,
      [
        '-e',
        'const m = require(process.argv[1]); console.log(typeof m.Tracer, typeof m.captureLambdaHandler)',
        join(bundle, 'tracer.cjs'),
      ],
      { encoding: 'utf8' },
    );
    expect(exported.trim()).toBe('function function');
  });

  it('loads Tracer and, for a handler that reaches the database, the Data API client at init on Lambda', {
    timeout: 120_000,
  }, () => {
    // An on-demand function's init runs on a whole vCPU, its invocations on the memory's share of
    // one: what the first invocation needs is loaded before it (shared/runtime.ts openAtInit).
    const step = bundleOf('InitStep', 'functions/provision/create-schema.ts');
    const openApi = bundleOf('InitOpenApi', 'functions/api/get-open-api.ts'); // `database: false`
    for (const bundle of [step, openApi])
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(bundle, 'node_modules'));
    const script = [
      "import { createRequire } from 'node:module';",
      'await import(process.argv[1]);',
      // What the init started ends in the microtasks after the import, before any event.
      'await new Promise((resolve) => setImmediate(resolve));',
      'const loaded = Object.keys(createRequire(process.argv[1]).cache);',
      'console.log(JSON.stringify({',
      "  dataApi: loaded.some((f) => f.includes('@aws-sdk/client-rds-data')),",
      "  tracer: loaded.some((f) => f.endsWith('tracer.cjs')),",
      '}));',
    ].join('\n');
    const lambda: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_LAMBDA_FUNCTION_NAME: 'init-test',
      AWS_REGION: 'us-east-1',
      TENANTRY_DB_CLUSTER_ARN: 'arn:aws:rds:us-east-1:123456789012:cluster:tenantry',
      TENANTRY_DB_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tenantry',
      TENANTRY_DB_NAME: 'tenantry',
    };
    for (const name of ['DATABASE_URL', 'TENANTRY_DATA_DIR', 'AWS_ENDPOINT_URL', 'NODE_OPTIONS'])
      delete lambda[name];
    const loadedBy = (bundle: string, env: NodeJS.ProcessEnv) => JSON.parse(runBundle(bundle, script, env));
    expect(loadedBy(step, lambda)).toEqual({ dataApi: true, tracer: true });
    expect(loadedBy(openApi, lambda)).toEqual({ dataApi: false, tracer: true });
    // Off Lambda there is no X-Ray to send to: Tracer stays out.
    const offLambda = { ...lambda };
    delete offLambda.AWS_LAMBDA_FUNCTION_NAME;
    expect(loadedBy(step, offLambda)).toEqual({ dataApi: true, tracer: false });
  });

  it('carries the control SQL at sql/, where the loader finds it with the checksums the source has', {
    timeout: 120_000,
  }, () => {
    const bundle = bundleOf('ControlSql', 'test/infra/fixtures/control-sql.ts');
    expect(files(join(bundle, 'sql'))).toEqual(files(CONTROL_SQL_DIR));

    const env = { ...process.env };
    delete env.TENANTRY_CONTROL_SQL_DIR;
    const output = runBundle(
      bundle,
      'const { handler } = await import(process.argv[1]); console.log(JSON.stringify(await handler()));',
      env,
    );
    const source = loadControlSql(CONTROL_SQL_DIR);
    const expected = Object.fromEntries(
      [...source.migrations, ...source.functions, ...source.local].map((f) => [f.file, f.checksum]),
    );
    expect(Object.keys(expected).length).toBeGreaterThan(20);
    expect(JSON.parse(output)).toEqual(expected);
  });

  it('carries only the Data API adapter: a step handler bundles without PGlite and pg, and loads', {
    timeout: 120_000,
  }, () => {
    const bundle = bundleOf('Backup', 'functions/deprovision/backup.ts');
    const code = readFileSync(join(bundle, 'index.mjs'), 'utf8');
    expect(code).not.toMatch(/from\s*"(?:pg|pg-copy-streams|@electric-sql\/pglite)"/);
    expect(code).not.toContain('PGlite');
    // It loads as Lambda loads it: the runtime provides the SDK (here, this repository's node_modules).
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(bundle, 'node_modules'));
    const loaded = runBundle(
      bundle,
      'const m = await import(process.argv[1]); console.log(typeof m.handler);',
    );
    expect(loaded.trim()).toBe('function');
  });
});
