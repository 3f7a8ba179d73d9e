import { fileURLToPath } from 'node:url';

/** The repository root: handler `entry` paths in `statemachine/steps.ts` are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The lock file that pins what esbuild bundles; its folder is the bundling project root. */
export const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

/** Blueprints as the loader finds them at runtime: `<bundle>/blueprints/` (see shared/blueprint.ts). */
export const BLUEPRINTS_DIR = fileURLToPath(new URL('../shared/blueprints/', import.meta.url));

/** The control schema's SQL as the loader finds it at runtime: `<bundle>/sql/` (see shared/registry/control-files.ts). */
export const CONTROL_SQL_DIR = fileURLToPath(new URL('../shared/registry/sql/', import.meta.url));
