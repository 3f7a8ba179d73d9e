import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** What every blueprint folder must hold for the bundles to carry it (shared/blueprint.ts reads them). */
export const BLUEPRINT_FILES = ['blueprint.json', 'blueprint.lock.json'] as const;

/**
 * A blueprints folder, checked at synth: it exists and holds at least one blueprint folder (a
 * subfolder; hidden ones are skipped), each with `blueprint.json` and `blueprint.lock.json`. Files
 * only: infra does not load blueprints (shared/blueprint.ts does, at runtime; `tenantry blueprint
 * list` checks them before a deploy). A relative `dir` resolves against the working directory,
 * where `cdk synth` runs the app. Every error names `prop`. Returns the absolute path.
 */
export function checkBlueprintsDir(dir: string, prop: string): string {
  const absolute = resolve(process.cwd(), dir);
  const shown = absolute === dir ? dir : `${dir} (${absolute})`;
  if (!existsSync(absolute)) throw new Error(`${prop}: the blueprints folder ${shown} does not exist`);
  if (!statSync(absolute).isDirectory()) throw new Error(`${prop}: ${shown} is not a folder`);

  const blueprints = readdirSync(absolute, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  if (blueprints.length === 0) {
    throw new Error(
      `${prop}: ${shown} holds no blueprint folder; it needs one subfolder per blueprint, each with ${BLUEPRINT_FILES.join(' and ')}`,
    );
  }
  const problems = blueprints.flatMap((name) =>
    BLUEPRINT_FILES.filter((file) => !isFile(join(absolute, name, file))).map(
      (file) =>
        `${name}/ has no ${file}${file === 'blueprint.lock.json' ? " (write it with 'tenantry blueprint lock')" : ''}`,
    ),
  );
  if (problems.length > 0) {
    throw new Error(`${prop}: the blueprints in ${shown} are incomplete: ${problems.join('; ')}`);
  }
  return absolute;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
