import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root: handler `entry` paths in `statemachine/steps.ts` are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * The lock file that pins what esbuild bundles in a checkout; its folder is the bundling project
 * root. An installed package has none: npm never packs `package-lock.json` (see `bundlingProject`).
 */
export const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

/**
 * The blueprints shipped with Tenantry (examples), the default of the `blueprints` prop. At
 * runtime the loader finds the deployment's blueprints at `<bundle>/blueprints/` (see shared/blueprint.ts).
 */
export const BLUEPRINTS_DIR = fileURLToPath(new URL('../shared/blueprints/', import.meta.url));

/** The control schema's SQL as the loader finds it at runtime: `<bundle>/sql/` (see shared/registry/control-files.ts). */
export const CONTROL_SQL_DIR = fileURLToPath(new URL('../shared/registry/sql/', import.meta.url));

/**
 * Where NodejsFunction bundles: in a checkout, this repository with its `package-lock.json`;
 * installed as a package (no lock file beside it), nothing, so NodejsFunction takes the app's lock
 * file, which it looks for upwards from the working directory, and bundles in that folder.
 */
export function bundlingProject(): { readonly projectRoot?: string; readonly depsLockFilePath?: string } {
  return existsSync(LOCK_FILE) ? { projectRoot: REPO_ROOT, depsLockFilePath: LOCK_FILE } : {};
}
