import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlueprintCatalog, defaultBlueprintsDir } from '../../shared/blueprint';

/** A private copy of the shipped blueprints that a test may edit; `dispose()` removes it. */
export function blueprintSandbox() {
  const root = mkdtempSync(join(tmpdir(), 'tenantry-blueprints-'));
  cpSync(defaultBlueprintsDir(), root, { recursive: true });
  return {
    root,
    catalog: () => new BlueprintCatalog(root),
    edit(relativePath: string, change: (text: string) => string) {
      const path = join(root, relativePath);
      writeFileSync(path, change(readFileSync(path, 'utf8')));
    },
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}
