import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../shared/api/route-table';
import { BlueprintCatalog } from '../../shared/blueprint';
import { ADMIN_PLACEHOLDERS, TemplateDefinitionSchema } from '../../shared/templates/schema';

// examples/walkthrough.sh is the README's curl walk-through made a script (.ci/run runs it against
// `npm start`). These checks need no server: they keep the README, the script, the API's routes
// and the example template file in step.

const ROOT = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

/** The curl commands of a shell text, continuation lines joined, trailing comments and `expect <status>` dropped. */
function curlCommands(text: string): { command: string; status?: number }[] {
  const commands: { command: string; status?: number }[] = [];
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#\s.*$/, '').trim();
    if (current) current.push(line.replace(/\\$/, '').trim());
    else if (/^(expect \d{3} )?curl /.test(line)) current = [line.replace(/\\$/, '').trim()];
    if (current && !line.endsWith('\\')) {
      const joined = current.join(' ');
      const status = /^expect (\d{3}) /.exec(joined)?.[1];
      commands.push({
        command: joined.replace(/^expect \d{3} /, ''),
        ...(status ? { status: Number(status) } : {}),
      });
      current = undefined;
    }
  }
  return commands;
}

/** The README's walk-through: the bash block that starts with `API=`. */
function readmeWalkthrough(): string {
  const block = /```bash\nAPI=http:\/\/127\.0\.0\.1:3000\n([\s\S]*?)```/.exec(read('README.md'));
  if (!block?.[1]) throw new Error('README.md has no bash block starting with API=http://127.0.0.1:3000');
  return block[1];
}

/** The route a curl command calls: its method and its path, with the query left out. */
function routeOf(command: string) {
  const method = /-X (GET|POST|PUT|DELETE)\b/.exec(command)?.[1] ?? 'GET';
  const path = /"?\$API(\/[^\s"?]*)/.exec(command)?.[1];
  const route = API_ROUTES.find(
    (r) =>
      r.method === method &&
      path !== undefined &&
      new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
  return { method, path, route };
}

describe('the HTTP API walk-through', () => {
  const script = curlCommands(read('examples/walkthrough.sh'));

  it("sends every request of the README's walk-through, in the README's order", () => {
    const readme = curlCommands(readmeWalkthrough()).map((c) => c.command);
    expect(readme.length).toBeGreaterThan(20);
    let next = 0;
    for (const command of readme) {
      const at = script.findIndex((c, i) => i >= next && c.command === command);
      expect(
        at,
        `README line missing from examples/walkthrough.sh (or out of order): ${command}`,
      ).toBeGreaterThanOrEqual(0);
      next = at + 1;
    }
  });

  it('calls only routes the API has, each expecting a status that route answers', () => {
    expect(script.length).toBeGreaterThan(20);
    for (const { command, status } of script) {
      const { method, path, route } = routeOf(command);
      expect(route, `${method} ${path} is no route of shared/api/route-table.ts`).toBeDefined();
      expect(status, `no expected status for: ${command}`).toBeDefined();
      expect([route?.ok[0], ...(route?.errors ?? [])], `${method} ${path}`).toContain(status);
    }
  });

  it('posts examples/template.json, a valid template for a locked blueprint version', () => {
    expect(script.some((c) => c.command.includes('-d @examples/template.json'))).toBe(true);
    const template = TemplateDefinitionSchema.parse(JSON.parse(read('examples/template.json')));
    const blueprint = new BlueprintCatalog().get(template.blueprint);
    expect(Object.keys(blueprint.lock)).toContain(String(template.blueprintVersion));
    const adminRows = JSON.stringify(template.adminUser?.rows ?? []);
    for (const placeholder of ADMIN_PLACEHOLDERS) expect(adminRows).toContain(placeholder);
  });
});
