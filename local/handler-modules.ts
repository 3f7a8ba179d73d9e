import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

let built: Readonly<Record<string, string>> | undefined;

/**
 * The URL to import a handler from, given its source file relative to the repository root
 * (`functions/provision/validate.ts`): the source itself under tsx, or in the prebuilt CLI
 * (local/bin/build.mjs, which defines TENANTRY_PREBUILT) the module the build made of it, so the
 * handlers share the CLI's own copy of every shared module.
 */
export function handlerModuleUrl(root: string, entry: string): string {
  if (process.env.TENANTRY_PREBUILT !== 'dist') return pathToFileURL(resolve(root, entry)).href;
  built ??= (
    JSON.parse(readFileSync(resolve(root, 'dist', 'build.json'), 'utf8')) as {
      entries: Record<string, string>;
    }
  ).entries;
  const output = built[entry];
  if (!output) throw new Error(`${entry} is not in the prebuilt CLI: rebuild it (node local/bin/build.mjs)`);
  return pathToFileURL(resolve(root, 'dist', output)).href;
}
