// Refuses a Node.js older than 22 with one line, before anything that needs 22 is loaded. Every entry
// point imports it first, for its side effect: local/bin/tenantry.mjs and build.mjs, local/server.ts,
// local/cli.ts, statemachine/write-asl.ts, the bench scripts and vitest.config.ts. It imports nothing,
// so it runs on any Node that can load an ES module. `npm run`, `npm start`, `npm test` and `npx` put
// node_modules/.bin first on PATH, where the devDependency `node` (the npm package) is Node 22, so
// through npm the project runs on its own Node 22, whatever the system's is.
const MINIMUM = 22;
const version = process.versions.node;
if (Number(version.split('.')[0]) < MINIMUM) {
  const fix = process.env.npm_lifecycle_event
    ? // Already run by npm, so node_modules/.bin has no Node 22 (npm ci --omit=dev, or --ignore-scripts).
      `node_modules/.bin has no Node ${MINIMUM}: run npm ci, whose devDependency node brings it, or install Node ${MINIMUM}.`
    : `run it through npm (npm run tenantry -- ..., npm start, npm test), which uses the project's Node ${MINIMUM}, or install Node ${MINIMUM}.`;
  process.stderr.write(`tenantry needs Node.js ${MINIMUM} or newer (this is ${version}): ${fix}\n`);
  process.exit(1);
}
