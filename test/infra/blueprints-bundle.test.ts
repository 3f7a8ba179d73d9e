import { execFileSync } from 'node:child_process';
import { appendFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { bundlingPath, TenantryFunction } from '../../infra/constructs/tenantry-function';
import { tempDir } from '../support/temp-dirs';
import { userBlueprints } from './synth';

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

/** Bundles for real (esbuild, locally) the handler that lists the blueprints it finds beside it. */
function bundle(blueprintsDir: string): { readonly dir: string; readonly hash: string } {
  const app = new App({ outdir: tempDir('tenantry-user-bundle-') });
  new TenantryFunction(new Stack(app, 'Bundle'), 'BlueprintNames', {
    entry: 'test/infra/fixtures/blueprint-names.ts',
    blueprintsDir,
  });
  const assembly = app.synth();
  const [asset] = readdirSync(assembly.directory).filter((f) => f.startsWith('asset.'));
  if (!asset) throw new Error('no asset was bundled');
  return { dir: join(assembly.directory, asset), hash: asset.slice('asset.'.length) };
}

// Your blueprints, not the shipped ones, in the bundle; and the asset hash follows them, so a
// changed blueprint redeploys the functions (NodejsFunction hashes the bundle: AssetHashType.OUTPUT).
describe('a TenantryFunction bundle with your blueprints', () => {
  it('carries your folder at blueprints/, where the loader finds it', { timeout: 120_000 }, () => {
    const blueprints = userBlueprints();
    const { dir } = bundle(blueprints);
    expect(files(join(dir, 'blueprints'))).toEqual(files(blueprints));

    const env = { ...process.env };
    delete env.TENANTRY_BLUEPRINTS;
    delete env.TENANTRY_BLUEPRINTS_DIR;
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const { handler } = await import(process.argv[1]); console.log(JSON.stringify(await handler()));',
        join(dir, 'index.mjs'),
      ],
      { env, encoding: 'utf8' },
    );
    expect(JSON.parse(output)).toEqual(['alltypes', 'drift', 'functions']);
  });

  it('has an asset hash that changes with a blueprint, and only then', { timeout: 120_000 }, () => {
    const blueprints = userBlueprints();
    const first = bundle(blueprints);
    expect(bundle(blueprints).hash).toBe(first.hash);
    appendFileSync(join(blueprints, 'drift', 'migrations', '0001_init.sql'), '\n-- changed\n');
    expect(bundle(blueprints).hash).not.toBe(first.hash);
  });
});

describe('the folders as the bundling commands see them', () => {
  const root = () => '/home/me/app';

  it('are the folders themselves when esbuild runs locally (inputDir is the project root)', () => {
    expect(bundlingPath('/home/me/app', '/home/me/app/blueprints/', root)).toBe('/home/me/app/blueprints');
    expect(bundlingPath('/home/me/app', '/srv/shared/blueprints', root)).toBe('/srv/shared/blueprints');
  });

  it("are under Docker's mount of the project root, and undefined out of its reach", () => {
    expect(bundlingPath('/asset-input', '/home/me/app/blueprints', root)).toBe('/asset-input/blueprints');
    expect(
      bundlingPath('/asset-input', '/home/me/app/node_modules/tenantry/shared/registry/sql/', root),
    ).toBe('/asset-input/node_modules/tenantry/shared/registry/sql');
    expect(bundlingPath('/asset-input', '/srv/shared/blueprints', root)).toBeUndefined();
    expect(bundlingPath('/asset-input', '/home/me/app-blueprints', root)).toBeUndefined();
  });
});
