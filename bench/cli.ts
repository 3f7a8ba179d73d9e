/** What every bench prints and records about how it was run and against which server. */

/** The command that made a result, as the user typed it: `npm run <script> -- ...` or `npx tsx <file> ...`. */
export function commandLine(npmScript: string, file: string, argv: readonly string[]): string {
  const args = argv.join(' ');
  if (process.env.npm_lifecycle_event === npmScript)
    return `npm run ${npmScript}${args ? ` -- ${args}` : ''}`;
  return `npx tsx ${file}${args ? ` ${args}` : ''}`;
}

/** A connection URL fit to print or record: its password masked. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** The same server's URL for another database. */
export function urlOf(serverUrl: string, db: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${db}`;
  return u.toString();
}
