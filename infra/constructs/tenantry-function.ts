import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { AssetStaging, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { checkBlueprintsDir } from '../blueprints';
import { BLUEPRINTS_DIR, bundlingProject, CONTROL_SQL_DIR, REPO_ROOT } from '../paths';
import type { DatabaseLogin, TenantryDatabase } from './database';

/** The newest Node.js runtime aws-cdk-lib offers; cdk-nag's AwsSolutions-L1 accepts nothing older. */
export const TENANTRY_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Exactly what the RDS Data API adapter calls; nothing that manages or reshapes the cluster. */
export const DATA_API_ACTIONS = [
  'rds-data:ExecuteStatement',
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:RollbackTransaction',
] as const;

/**
 * Lets ESM bundles load the CommonJS dependencies that still call `require`. (`import.meta.filename`,
 * not the URL: the package build rewrites every `import.meta.url` in the sources, local/bin/build.mjs.)
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.filename);";

export interface TenantryFunctionProps {
  /** The handler file, absolute or relative to Tenantry's root (this repository, or the installed package). It exports `handler`. */
  readonly entry: string;
  /** What the function does, shown in the console. @default - no description */
  readonly description?: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** How long the function's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when it leaves the stack. @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Extra environment variables; the database ones come from `useDatabase`. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * The blueprints the bundle carries at `blueprints/`: a folder with one subfolder per blueprint,
   * each with `blueprint.json` and `blueprint.lock.json` (checked at synth). A relative path
   * resolves against the working directory. @default - the blueprints shipped with Tenantry (shared/blueprints)
   */
  readonly blueprintsDir?: string;
}

/**
 * The house Lambda: Node.js 24 on arm64, an ESM bundle with source maps, active X-Ray tracing,
 * JSON logs in its own log group with a retention, a role that starts with nothing but writing
 * to that log group, a copy of the blueprints (`blueprintsDir`, by default `shared/blueprints`) at
 * `<bundle>/blueprints/` and one of the control schema's SQL (`shared/registry/sql`) at `<bundle>/sql/`.
 *
 * The asset hash is the bundle's (NodejsFunction's AssetHashType.OUTPUT), copies included: a
 * change in a blueprint changes the hash of every function that carries it.
 */
export class TenantryFunction extends NodejsFunction {
  /** The absolute path of the blueprints folder the bundle carries at `blueprints/`. */
  public readonly blueprintsDir: string;

  constructor(scope: Construct, id: string, props: TenantryFunctionProps) {
    const blueprintsDir = checkBlueprintsDir(props.blueprintsDir ?? BLUEPRINTS_DIR, 'blueprintsDir');
    const project = bundlingProject();
    // The project root as NodejsFunction finds it, wanted only to place a folder inside Docker's mount.
    const projectRoot = () => project.projectRoot ?? lockFileFolder(process.cwd());
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // No AWSLambdaBasicExecutionRole: that managed policy may write to every log group in the account.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${scope.node.path}/${id}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: isAbsolute(props.entry) ? props.entry : join(REPO_ROOT, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: TENANTRY_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // No NODE_OPTIONS=--enable-source-maps: with it, Node reads and parses the bundle's source map
      // at every cold start (about 15% of a route's import, bench/results/README.md) and maps every
      // stack it formats. Names survive minifying (keepNames), so a stack reads `at startTenant
      // (index.mjs:1:52310)`; the map ships beside the bundle to turn a position into a source line
      // (README, "Observe").
      ...(props.environment ? { environment: props.environment } : {}),
      ...project,
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        // Error names are literals (shared/errors.ts), so minifying cannot change what Retry and
        // Catch match; keeping every other name too makes stack traces and logs readable.
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        // SDK v3 ships with the runtime.
        externalModules: ['@aws-sdk/*'],
        // Lambda reaches the database through the Data API only: PGlite and pg stay out of the
        // bundle (shared/sql/connect.ts).
        define: { 'process.env.TENANTRY_BUNDLE': JSON.stringify('lambda') },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => {
            const copy = (dir: string, name: string) => {
              const source = bundlingPath(inputDir, dir, projectRoot);
              if (source === undefined) {
                const why = `${dir} is outside the bundling project ${projectRoot()}, out of Docker's reach; install esbuild to bundle locally`;
                return [`echo ${JSON.stringify(`tenantry: ${why}`)} >&2`, 'false'];
              }
              const target = join(outputDir, name);
              return [`mkdir -p "${target}"`, `cp -R "${source}/." "${target}/"`];
            };
            // The control SQL is read at runtime like the blueprints: the files ship as they are,
            // so the checksums the database records are those of the files in the repository.
            return [
              ...copy(blueprintsDir, 'blueprints'),
              ...copy(CONTROL_SQL_DIR, 'sql'),
              ...tracerFile(inputDir, outputDir, projectRoot),
            ];
          },
        },
      },
    });

    this.blueprintsDir = blueprintsDir;

    // Active tracing has just added its statement to the role's default policy.
    Validations.of(role.node.tryFindChild('DefaultPolicy') ?? role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray statement that active tracing adds: xray:PutTraceSegments and ' +
        'xray:PutTelemetryRecords have no resource-level permissions.',
    });
  }

  /**
   * Points the function at the database as one of its runtime logins and grants exactly what the
   * Data API adapter needs, in one call, so the environment and the policy cannot drift apart: the
   * five Data API actions on that cluster and `secretsmanager:GetSecretValue` on that login's secret
   * only (the Data API reads it as the caller). `reader` for routes that only read the control
   * schema, `owner` for everything that writes. The function is created after the deploy-time setup
   * that makes the logins (TenantryDatabase.setup). No runtime function gets the master secret.
   */
  public useDatabase(db: TenantryDatabase, login: DatabaseLogin): this {
    const secret = db.secretFor(login);
    this.addEnvironment('TENANTRY_DB_CLUSTER_ARN', db.clusterArn);
    this.addEnvironment('TENANTRY_DB_SECRET_ARN', secret.secretArn);
    this.addEnvironment('TENANTRY_DB_NAME', db.databaseName);
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...DATA_API_ACTIONS], resources: [db.clusterArn] }),
    );
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
    this.node.addDependency(db.setup);
    return this;
  }
}

/** The lock files NodejsFunction looks for, in its order, when it is given none. */
const LOCK_FILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lockb', 'bun.lock', 'package-lock.json'];

/** The nearest folder at or above `dir` with a lock file: the project root NodejsFunction picks. */
function lockFileFolder(dir: string): string {
  if (LOCK_FILES.some((file) => existsSync(join(dir, file)))) return dir;
  const parent = dirname(dir);
  return parent === dir ? process.cwd() : lockFileFolder(parent);
}

/** Powertools' Tracer and the X-Ray SDK, which a bundle carries as a file of its own. */
const TRACER_ENTRY = join(REPO_ROOT, 'shared', 'observability', 'tracer.ts');

/**
 * The bundling command that builds `tracer.cjs` beside the bundle's `index.mjs`: Tracer, its
 * middleware and the X-Ray SDK, which shared/observability/lambda.ts loads on Lambda only, at init
 * (the bundle itself leaves their 130 KB out, as the local build does). esbuild is run as
 * NodejsFunction runs it: the project's own when it bundles locally, the image's in Docker.
 */
function tracerFile(inputDir: string, outputDir: string, projectRoot: () => string): string[] {
  const entry = bundlingPath(inputDir, TRACER_ENTRY, projectRoot);
  if (entry === undefined) {
    const why = `${TRACER_ENTRY} is outside the bundling project ${projectRoot()}, out of Docker's reach; install esbuild to bundle locally`;
    return [`echo ${JSON.stringify(`tenantry: ${why}`)} >&2`, 'false'];
  }
  const esbuild = inputDir === AssetStaging.BUNDLING_INPUT_DIR ? 'esbuild' : localEsbuild();
  const args = [
    '--bundle',
    '--platform=node',
    '--format=cjs',
    '--target=node22',
    '--minify',
    '--keep-names',
    '--external:@aws-sdk/*',
    '--log-level=warning',
    `--outfile=${join(outputDir, 'tracer.cjs')}`,
  ];
  return [[esbuild, entry, ...args].map((a) => JSON.stringify(a)).join(' ')];
}

/** The esbuild binary of this project (as NodejsFunction finds it), or the one on the PATH. */
function localEsbuild(): string {
  try {
    return createRequire(join(REPO_ROOT, 'package.json')).resolve('esbuild/bin/esbuild');
  } catch {
    return 'esbuild';
  }
}

/**
 * A folder on this machine as the bundling commands see it: as it is when esbuild runs locally
 * (`inputDir` is then the project root itself), under the project root mounted at `/asset-input`
 * when the bundling runs in Docker; undefined when Docker cannot see it (outside the project root).
 */
export function bundlingPath(inputDir: string, dir: string, projectRoot: () => string): string | undefined {
  if (inputDir !== AssetStaging.BUNDLING_INPUT_DIR) return resolve(dir);
  const inside = relative(projectRoot(), dir);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return undefined;
  return posix.join(inputDir, ...inside.split(sep));
}
