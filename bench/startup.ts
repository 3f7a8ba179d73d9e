// `npm run bench:startup`: what a start costs. The CLI's `status` against `node -e ''`, the Quick
// start demo from a fresh .tenantry folder (with the cached cluster image, and without it), each
// Lambda bundle's size and the cold import time of the bundles, all in the same run, medians of
// repeated runs. Results in bench/results/startup-<date>.json and bench/results/README.md.
import '../local/bin/node-version.mjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { REPO_ROOT } from '../infra/paths';
import { TenantryStack } from '../infra/stack';
import { row, writeSection } from './report';
import { type Summary, summarise } from './stats';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
/** What the package scripts run: node on the launcher of the prebuilt CLI (local/bin/tenantry.mjs). */
const LAUNCHER = join(REPO_ROOT, 'local', 'bin', 'tenantry.mjs');
const viaScripts = (args: readonly string[]) => [process.execPath, [LAUNCHER, ...args]] as const;
/** The sources under tsx's loader, one process (the tsx binary starts a second one). */
const viaTsx = (args: readonly string[]) => [process.execPath, ['--import', 'tsx', CLI, ...args]] as const;
const CLI = join(REPO_ROOT, 'local', 'cli.ts');
const scratch = mkdtempSync(join(tmpdir(), 'tenantry-bench-startup-'));

/** Wall time of one child process, in ms; it must exit 0 (or `expectCode`). */
function wall(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, expectCode = 0): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== expectCode) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return Math.round(ms);
}

let fresh = 0;
/** A fresh folder standing in for a newcomer's .tenantry (data and backups). */
function freshTenantry(): NodeJS.ProcessEnv {
  const dir = join(scratch, `tenantry-${++fresh}`);
  return { TENANTRY_DATA_DIR: join(dir, 'pgdata'), TENANTRY_BACKUP_DIR: join(dir, 'backups') };
}

function cliStartup() {
  // `status` on a data folder that already holds a cluster (a second command, as a user runs it).
  const cache = { TENANTRY_CACHE_DIR: join(scratch, 'cache') };
  const known = { ...freshTenantry(), ...cache };
  wall(...viaScripts(['status', 'nobody']), known, 3); // makes the cluster and, if stale, the build
  const node: number[] = [];
  const status: number[] = [];
  const statusTsx: number[] = [];
  const statusTsxBinary: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    node.push(wall(process.execPath, ['-e', '']));
    // `status` of a tenant that does not exist: exit 3, not found.
    status.push(wall(...viaScripts(['status', 'nobody']), known, 3));
    statusTsx.push(wall(...viaTsx(['status', 'nobody']), known, 3));
    statusTsxBinary.push(wall(TSX, [CLI, 'status', 'nobody'], known, 3));
  }
  // Which packages the command evaluates: a CPU profile names every module that ran code.
  const profDir = join(scratch, 'prof');
  spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, LAUNCHER, 'status', 'nobody'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...known },
  });
  const profile = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  const urls = new Set<string>();
  if (profile) {
    const nodes = (
      JSON.parse(readFileSync(join(profDir, profile), 'utf8')) as {
        nodes: { callFrame: { url: string } }[];
      }
    ).nodes;
    for (const n of nodes) urls.add(n.callFrame.url);
  }
  const packages = [
    ...new Set([...urls].map((u) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)?.[1]).filter(Boolean)),
  ].sort() as string[];
  return {
    node: summarise(node),
    status: summarise(status),
    statusTsx: summarise(statusTsx),
    statusTsxBinary: summarise(statusTsxBinary),
    overheadMs: summarise(status).median - summarise(node).median,
    awsCdkLibLoaded: packages.includes('aws-cdk-lib'),
    packagesRun: packages,
  };
}

function demo() {
  // As `npm run demo` runs it (node on the launcher, without npm's own start-up), from a fresh .tenantry folder.
  const args = ['provision', 'acme', '--blueprint', 'school-erp', '--watch'];
  const warmCache = { TENANTRY_CACHE_DIR: join(scratch, 'cache') };
  wall(...viaScripts(args), { ...freshTenantry(), ...warmCache });
  const cached: number[] = [];
  const uncached: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    cached.push(wall(...viaScripts(args), { ...freshTenantry(), ...warmCache }));
    // The very first run on a machine: no cluster image yet, so initdb runs (and the image is made).
    uncached.push(
      wall(...viaScripts(args), { ...freshTenantry(), TENANTRY_CACHE_DIR: join(scratch, `cold-${i}`) }),
    );
  }
  return { cachedImage: summarise(cached), firstEver: summarise(uncached) };
}

interface BundleStat {
  readonly path: string;
  readonly kind: 'step' | 'api' | 'other';
  readonly bytes: number;
  readonly importMs: Summary;
  /** The import and then what the first invocation loads (FIRST_USE_SCRIPT), in the same process. */
  readonly withFirstUseMs: Summary;
  readonly firstUse: { readonly tracer: boolean; readonly dataApi: boolean };
  /** The NODE_OPTIONS the function is deployed with, and imported with here. */
  readonly nodeOptions: string;
  readonly file: string;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Instructions (millions) a fresh `node --jitless` executes to import `file`, over one that imports
 * nothing, counted by callgrind: the same on a busy machine as on a quiet one. Null without valgrind.
 */
function importInstructions(file: string, env: NodeJS.ProcessEnv): number | null {
  const count = (args: readonly string[]) => {
    const r = spawnSync(
      'valgrind',
      ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--jitless', ...args],
      { env, encoding: 'utf8' },
    );
    const m = /Collected : (\d+)/.exec(r.stderr ?? '');
    return r.status === 0 && m ? Number(m[1]) : null;
  };
  const base = count(['--input-type=module', '-e', '']);
  const loaded = count([
    '--input-type=module',
    '-e',
    'await import(process.argv[1]); await new Promise((resolve) => setImmediate(resolve));',
    file,
  ]);
  return base === null || loaded === null ? null : Math.round((loaded - base) / 1e6);
}

/**
 * The floor under a bundle's cold import: the AWS SDK clients it loads, required the way
 * shared/aws-sdk.ts does, in a fresh node. Step bundles load the Data API client; API bundles
 * that start or read executions add Step Functions.
 */
function sdkFloor(): { rdsData: Summary; rdsDataAndSfn: Summary } {
  const time = (clients: readonly string[]) =>
    Math.round(
      Number(
        execFileSync(
          process.execPath,
          [
            '-e',
            'const t = performance.now(); for (const c of process.argv.slice(1)) require(c); console.log(performance.now() - t);',
            ...clients,
          ],
          { cwd: REPO_ROOT, encoding: 'utf8' },
        ).trim(),
      ),
    );
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    one.push(time(['@aws-sdk/client-rds-data']));
    two.push(time(['@aws-sdk/client-rds-data', '@aws-sdk/client-sfn']));
  }
  return { rdsData: summarise(one), rdsDataAndSfn: summarise(two) };
}

/**
 * Imports the bundle (argv[1]) as the runtime does, then loads what its first invocation would
 * (argv[2]: Tracer, the Data API client), and prints both times from the start of the import.
 */
const FIRST_USE_SCRIPT = `
import { createRequire } from 'node:module';
const [file, what] = process.argv.slice(1);
const { tracer, dataApi } = JSON.parse(what);
const t = performance.now();
await import(file);
// What the init started (shared/runtime.ts openAtInit, the Powertools middleware) ends in the
// microtasks after the import, before the runtime asks for the first event.
await new Promise((resolve) => setImmediate(resolve));
const imported = performance.now() - t;
const load = createRequire(file);
if (tracer) {
  const { Tracer } = load('./tracer.cjs');
  new Tracer({ serviceName: 'tenantry' });
}
if (dataApi && !load.cache[load.resolve('@aws-sdk/client-rds-data')]) {
  const { RDSDataClient } = load('@aws-sdk/client-rds-data');
  new RDSDataClient({});
}
console.log(JSON.stringify({ imported, withFirstUse: performance.now() - t }));
`;

function bundles(): BundleStat[] {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: object };
  const app = new App({
    outdir: join(scratch, 'cdk.out'),
    context: {
      ...cdkJson.context,
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:enable-path-metadata': true,
    },
  });
  new TenantryStack(app, 'Tenantry');
  const assembly = app.synth();
  const template = assembly.getStackByName('Tenantry').template as {
    Resources: Record<
      string,
      {
        Type: string;
        Metadata?: Record<string, string>;
        Properties?: { Environment?: { Variables?: Record<string, unknown> } };
      }
    >;
  };
  const out: BundleStat[] = [];
  for (const resource of Object.values(template.Resources)) {
    const asset = resource.Metadata?.['aws:asset:path'];
    const path = resource.Metadata?.['aws:cdk:path'] ?? '';
    if (resource.Type !== 'AWS::Lambda::Function' || !asset) continue;
    const dir = join(assembly.directory, asset);
    const file = join(dir, 'index.mjs');
    // Not a TenantryFunction: the custom resource provider's framework function (aws-cdk-lib's own).
    if (!existsSync(file)) continue;
    // The runtime provides the SDK: here, this repository's node_modules beside the bundle.
    if (!existsSync(join(dir, 'node_modules')))
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    // The function's own environment as deployed (NODE_OPTIONS included: a flag there changes
    // what a cold start does); values CloudFormation resolves at deploy time get placeholders.
    const deployed = Object.fromEntries(
      Object.entries(resource.Properties?.Environment?.Variables ?? {}).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : 'arn:x',
      ]),
    );
    const env = {
      ...process.env,
      NODE_OPTIONS: '',
      // Set by Lambda in every function: the handlers' Powertools middleware loads when it is.
      AWS_LAMBDA_FUNCTION_NAME: path.split('/').slice(-2, -1)[0] ?? 'bench',
      TENANTRY_DB_CLUSTER_ARN: 'arn:x',
      TENANTRY_DB_SECRET_ARN: 'arn:x',
      ...deployed,
    };
    // What a first invocation would load before it can answer if the init had not: Tracer
    // (tracer.cjs, every function on Lambda) and, for a handler that reaches the database, the Data
    // API client (shared/runtime.ts openAtInit). What the init loaded is not loaded twice, so this
    // is the import again unless a load has moved out of the init.
    const firstUse = {
      tracer: existsSync(join(dir, 'tracer.cjs')),
      dataApi: typeof deployed.TENANTRY_DB_CLUSTER_ARN === 'string',
    };
    const importMs: number[] = [];
    const firstUseMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', FIRST_USE_SCRIPT, file, JSON.stringify(firstUse)],
        { encoding: 'utf8', env },
      );
      const { imported, withFirstUse } = JSON.parse(out.trim()) as { imported: number; withFirstUse: number };
      importMs.push(Math.round(imported));
      firstUseMs.push(Math.round(withFirstUse));
    }
    const kind = /\/(Provision|Deprovision|Migrate|Rollout)\/Functions\//.test(path)
      ? 'step'
      : /\/Api\//.test(path)
        ? 'api'
        : 'other';
    out.push({
      path: path.replace(/\/Resource$/, ''),
      kind,
      bytes: statSync(file).size,
      importMs: summarise(importMs),
      withFirstUseMs: summarise(firstUseMs),
      firstUse,
      nodeOptions: env.NODE_OPTIONS ?? '',
      file,
      env,
    });
  }
  return out.sort((a, b) => b.bytes - a.bytes);
}

const date = new Date().toISOString().slice(0, 10);
try {
  const started = performance.now();
  const cli = cliStartup();
  const demoRuns = demo();
  const built = bundles();
  const sdk = sdkFloor();
  const slowest = (kind: BundleStat['kind']) =>
    built.filter((b) => b.kind === kind).reduce((a, b) => (b.importMs.median > a.importMs.median ? b : a));
  const instructions = Object.fromEntries(
    (['step', 'api'] as const).map((kind) => {
      const b = slowest(kind);
      return [kind, { path: b.path, millions: importInstructions(b.file, b.env) }];
    }),
  ) as Record<'step' | 'api', { path: string; millions: number | null }>;
  const nodeOptions = [...new Set(built.map((b) => b.nodeOptions || 'none'))];
  const worst = (kind: BundleStat['kind']) => slowest(kind).importMs.median;
  const worstWithFirstUse = (kind: BundleStat['kind']) =>
    Math.max(...built.filter((b) => b.kind === kind).map((b) => b.withFirstUseMs.median));
  const result = {
    benchmark: 'startup',
    date,
    command: `npm run bench:startup -- --runs ${RUNS}`,
    node: process.version,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', platform: process.platform },
    runs: RUNS,
    cli,
    demo: demoRuns,
    bundles: built.map(({ file: _f, env: _e, ...b }) => b),
    sdk,
    instructions,
    goals: {
      statusOverheadMs: { max: 500, value: cli.overheadMs, met: cli.overheadMs <= 500 },
      demoMs: { max: 2500, value: demoRuns.cachedImage.median, met: demoRuns.cachedImage.median <= 2500 },
      bundleBytes: {
        max: 500 * 1024,
        value: built[0]?.bytes ?? 0,
        met: (built[0]?.bytes ?? 0) <= 500 * 1024,
      },
      importMs: {
        max: 100,
        step: worst('step'),
        api: worst('api'),
        met: worst('step') <= 100 && worst('api') <= 100,
      },
    },
    // Not a goal of its own: the import and what the first invocation loads (FIRST_USE_SCRIPT).
    withFirstUseMs: { step: worstWithFirstUse('step'), api: worstWithFirstUse('api') },
    benchSeconds: Math.round((performance.now() - started) / 1000),
  };
  const s = (x: Summary) => [x.median, x.min, x.max];
  const kb = (b: number) => (b / 1024).toFixed(0);
  const byKind = (kind: BundleStat['kind']) => built.filter((b) => b.kind === kind);
  const g = result.goals;
  const summary = [
    `## Start-up, ${date}`,
    '',
    `\`${result.command}\`: Node ${result.node}, ${result.machine.cpus} CPUs (${result.machine.cpuModel}), ` +
      `medians of ${RUNS} runs, interleaved within each part. Wall times of the child process; npm's own start-up not included.`,
    '',
    row(['what', 'median ms', 'min ms', 'max ms', 'goal']),
    row(['---', '---:', '---:', '---:', '---']),
    row(["`node -e ''`", ...s(cli.node), '']),
    row([
      '`tsx local/cli.ts status nobody` (the tsx binary: two node processes)',
      ...s(cli.statusTsxBinary),
      '',
    ]),
    row([
      '`node --import tsx local/cli.ts status nobody` (the sources under tsx, one process)',
      ...s(cli.statusTsx),
      '',
    ]),
    row([
      '`node local/bin/tenantry.mjs status nobody` (as `npm run tenantry`: the prebuilt CLI; embedded PGlite, cluster present)',
      ...s(cli.status),
      `at most 500 ms over node: ${cli.overheadMs} ms, ${g.statusOverheadMs.met ? 'met' : 'NOT met'}`,
    ]),
    row([
      'Quick start demo (provision acme, school-erp, --watch), fresh .tenantry, cached cluster image',
      ...s(demoRuns.cachedImage),
      `at most 2500 ms: ${g.demoMs.met ? 'met' : 'NOT met'}`,
    ]),
    row([
      'the same, first run on the machine (no image yet: initdb, then the image is made)',
      ...s(demoRuns.firstEver),
      '',
    ]),
    '',
    `aws-cdk-lib evaluated by \`status\`: ${cli.awsCdkLibLoaded ? 'YES' : 'no'}. Packages that ran code: ${cli.packagesRun.join(', ')}.`,
    '',
    `Lambda bundles: ${built.length}; largest ${kb(built[0]?.bytes ?? 0)} KB (goal at most 500 KB: ${g.bundleBytes.met ? 'met' : 'NOT met'}); ` +
      `step bundles ${kb(Math.min(...byKind('step').map((b) => b.bytes)))}-${kb(Math.max(...byKind('step').map((b) => b.bytes)))} KB, ` +
      `API bundles ${kb(Math.min(...byKind('api').map((b) => b.bytes)))}-${kb(Math.max(...byKind('api').map((b) => b.bytes)))} KB. ` +
      `Cold import (fresh node, \`await import(index.mjs)\` and the init work it starts, in a Lambda environment, median of ${RUNS}), slowest bundle: step ${g.importMs.step} ms, API ${g.importMs.api} ms ` +
      `(goal at most 100 ms: ${g.importMs.met ? 'met' : 'NOT met'}). ` +
      `With what a first invocation would load on top, if the init had not (Tracer, \`tracer.cjs\`, every function; ` +
      `the Data API client, a handler that reaches the database): slowest: step ${result.withFirstUseMs.step} ms, ` +
      `API ${result.withFirstUseMs.api} ms. ` +
      `Each bundle is imported with its function's deployed environment (NODE_OPTIONS: ${nodeOptions.join(', ')}). ` +
      `Instructions of that import (callgrind, \`node --jitless\`, over a node importing nothing; the same on a busy machine): ` +
      `${(['step', 'api'] as const).map((k) => `${k} ${instructions[k].path} ${instructions[k].millions ?? 'n/a'} M`).join(', ')}. ` +
      `The SDK clients alone, required in a fresh node: the Data API client ${sdk.rdsData.median} ms ` +
      `(${sdk.rdsData.min}-${sdk.rdsData.max}), with Step Functions ${sdk.rdsDataAndSfn.median} ms ` +
      `(${sdk.rdsDataAndSfn.min}-${sdk.rdsDataAndSfn.max}).`,
    '',
    row(['bundle', 'KB', 'import median ms', "with the first invocation's loads, median ms"]),
    row(['---', '---:', '---:', '---:']),
    ...built.map((b) => row([b.path, kb(b.bytes), b.importMs.median, b.withFirstUseMs.median])),
  ].join('\n');
  console.log(summary);
  await writeSection('startup', date, result, summary);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
