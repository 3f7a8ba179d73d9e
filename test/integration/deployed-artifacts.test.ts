import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/paths';
import { TenantryStack } from '../../infra/stack';
import { LocalEngine } from '../../local/engine';
import { BlueprintCatalog } from '../../shared/blueprint';
import type { HistoryEvent } from '../../shared/progress';
import { lastReconciliation } from '../../shared/reconcile/records';
import { ensureControlSchema } from '../../shared/registry/control';
import { auditTrail, getTenant } from '../../shared/registry/tenants';
import type { SqlClient } from '../../shared/sql/port';
import { localStateMachineArn, resolveIntrinsics } from '../../statemachine/render';
import {
  type AslDefinition,
  DEPROVISION,
  MIGRATE,
  PROVISION,
  ROLLOUT,
  type Workflow,
} from '../../statemachine/workflows';
import { blueprintSandbox } from '../support/blueprints';
import { openDataApi, serverUrl, TEST_CLUSTER_ARN, TEST_SECRET_ARN } from '../support/databases';
import { addDocexVersion, DOCEX_V2 } from '../support/migrating';
import { provision, schemaExists } from '../support/provisioning';
import { tempDir } from '../support/temp-dirs';

/**
 * The artifacts that ship, run end to end: the app synthesized with real bundling (esbuild, as
 * `cdk synth` does), each state machine's DefinitionString from the template, and each task's
 * handler imported from its bundle's index.mjs. The bundles reach the database as on Lambda,
 * through the Data API (here its test double) with the environment a deployed function gets, so
 * an error name the bundler changed would no longer match the definition's Retry and Catch.
 */

interface CfnTemplate {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
}

const execFileAsync = promisify(execFile);

/** A GetAtt of a function's ARN stands for that function: an ARN that names its logical id. */
const functionArn = (logicalId: string) => `arn:aws:lambda:us-east-1:000000000000:function:${logicalId}`;

/** The DefinitionString of a state machine, with its tokens resolved: functions by logical id. */
function definitionOf(template: CfnTemplate, stateMachineId: string): AslDefinition {
  const join = (
    template.Resources[stateMachineId]?.Properties?.DefinitionString as { 'Fn::Join'?: unknown }
  )?.['Fn::Join'] as [string, unknown[]] | undefined;
  if (!join) throw new Error(`${stateMachineId} has no Fn::Join DefinitionString`);
  const [separator, parts] = join;
  const text = parts
    .map((part) => {
      const att = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      if (att && att[1] === 'Arn' && template.Resources[att[0]]?.Type === 'AWS::Lambda::Function') {
        return functionArn(att[0]);
      }
      // A state machine another starts (the Rollout, Migrate): the placeholder ARN of its workflow,
      // named in its logical id (`MigrateStateMachine<hash>`), by which the local engine finds it.
      const ref = (part as { Ref?: string }).Ref;
      if (ref && template.Resources[ref]?.Type === 'AWS::StepFunctions::StateMachine')
        return localStateMachineArn(ref.replace(/StateMachine[0-9A-F]{8}$/, ''));
      return String(resolveIntrinsics(part));
    })
    .join(separator);
  return JSON.parse(text) as AslDefinition;
}

/** The state machine whose definition names exactly this workflow's task states. */
function stateMachineOf(template: CfnTemplate, workflow: Workflow): AslDefinition {
  const found = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .map(([id]) => definitionOf(template, id))
    .filter((asl) => workflow.tasks.every((t) => asl.States[t.state]?.Type === 'Task'));
  if (found.length !== 1)
    throw new Error(`expected one ${workflow.name} state machine, found ${found.length}`);
  return found[0] as AslDefinition;
}

/** The logical id of the function a task state invokes. */
function functionIdOf(asl: AslDefinition, state: string): string | undefined {
  const parameters = asl.States[state]?.Parameters as { FunctionName?: string } | undefined;
  return parameters?.FunctionName?.split(':function:')[1];
}

function historyOf(db: SqlClient, executionId: string): Promise<HistoryEvent[]> {
  return db
    .query<{ event: HistoryEvent }>(
      'SELECT event FROM tenantry.execution_events WHERE execution_id = $1 ORDER BY id',
      [executionId],
    )
    .then((r) => r.rows.map((row) => row.event));
}

/** A Provision state machine ARN for the Step Functions engine the reconciler builds (never called here). */
const PROVISION_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:Provision';

const ENV = {
  TENANTRY_DB_CLUSTER_ARN: TEST_CLUSTER_ARN,
  TENANTRY_DB_SECRET_ARN: TEST_SECRET_ARN,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
} as const;

describe('the synthesized workflows with their bundled handlers, on the Data API', () => {
  let dataApi: Awaited<ReturnType<typeof openDataApi>>;
  let db: SqlClient;
  let engine: LocalEngine;
  const definitions: Record<string, AslDefinition> = {};
  const bundles = new Map<string, string>(); // function logical id -> bundle folder
  const saved = new Map<string, string | undefined>();

  beforeAll(async () => {
    // Real bundling, as `cdk synth` does it (the other infra tests skip it for speed).
    // With the feature flags the CLI gives the app, and the asset paths it records on each function.
    const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: object };
    const app = new App({
      outdir: tempDir('tenantry-cdk-bundled-'),
      context: { ...cdkJson.context, 'aws:cdk:enable-asset-metadata': true },
    });
    new TenantryStack(app, 'Tenantry');
    const assembly = app.synth();
    const stack = assembly.getStackByName('Tenantry');
    const template = stack.template as CfnTemplate;
    for (const workflow of [PROVISION, DEPROVISION, MIGRATE, ROLLOUT])
      definitions[workflow.name] = stateMachineOf(template, workflow);
    for (const [id, resource] of Object.entries(template.Resources)) {
      const asset = resource.Metadata?.['aws:asset:path'];
      if (resource.Type === 'AWS::Lambda::Function' && typeof asset === 'string') {
        const dir = join(assembly.directory, asset);
        // The runtime provides the SDK: here, this repository's node_modules beside the bundle.
        if (!readdirSync(dir).includes('node_modules'))
          symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
        bundles.set(id, dir);
      }
    }

    dataApi = await openDataApi(serverUrl());
    const env: Record<string, string> = {
      ...ENV,
      TENANTRY_DB_NAME: dataApi.database,
      AWS_ENDPOINT_URL: dataApi.server.endpoint,
      TENANTRY_BACKUP_DIR: tempDir('tenantry-bundled-backups-'),
    };
    for (const [key, value] of Object.entries(env)) {
      saved.set(key, process.env[key]);
      process.env[key] = value;
    }
    // The source tree's blueprints must not stand in for the ones each bundle carries.
    saved.set('TENANTRY_BLUEPRINTS', process.env.TENANTRY_BLUEPRINTS);
    delete process.env.TENANTRY_BLUEPRINTS;

    db = dataApi.connect();
    // The control schema first, so a fault aimed at a step's call cannot hit its definition.
    await ensureControlSchema(db);
    engine = new LocalEngine({
      db,
      retryDelayMs: 0,
      definitions,
      handlerFile: (workflow, state) => {
        const asl = definitions[workflow];
        const id = asl && functionIdOf(asl, state);
        const dir = id && bundles.get(id);
        if (!dir) throw new Error(`no bundle for ${workflow}.${state}`);
        return join(dir, 'index.mjs');
      },
    });
  }, 600_000);

  afterAll(async () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await dataApi?.close();
  });

  it('takes every task of every workflow from a bundle', () => {
    for (const workflow of [PROVISION, DEPROVISION, MIGRATE, ROLLOUT]) {
      const asl = definitions[workflow.name];
      expect(asl?.TimeoutSeconds).toBe(workflow.timeoutSeconds);
      for (const task of workflow.tasks) {
        const id = asl && functionIdOf(asl, task.state);
        expect(id && bundles.has(id), `${workflow.name}.${task.state}`).toBe(true);
      }
    }
  });

  it('provisions a tenant, retrying a transient fault the bundle reports by its name', async () => {
    // The cluster is resuming when CreateSchema calls it: the bundle's Data API client throws
    // TransientDatabaseError, and only the definition's Retry on that name gets the run through.
    dataApi.server.inject({ kind: 'resuming', sql: /create_tenant_schema/, times: 1 });
    const run = await engine.start(PROVISION, 'bundled-one', {
      tenantId: 'bundled-one',
      displayName: 'Bundled',
      blueprint: 'docex',
      requestedBy: 'test',
    });
    const record = await run.done;
    const history = await historyOf(db, record.executionId);
    const failures = history
      .filter((e) => e.type === 'TaskFailed')
      .map((e) => e.taskFailedEventDetails?.error);
    expect(failures).toEqual(['TransientDatabaseError']);
    expect(record.status).toBe('SUCCEEDED');
    expect(await getTenant(db, 'bundled-one')).toMatchObject({
      status: 'active',
      schemaName: 'tenant_bundled_one',
    });
    const tables = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'tenant_bundled_one'",
    );
    expect(tables.rows[0]?.n).toBeGreaterThan(0);
  });

  it('cleans up after a permanent fault: the schema goes and the tenant is failed at its step', async () => {
    // The database refuses the tenant's tables (an event trigger): a DatabaseError from the
    // SyncTables bundle, after CreateSchema made the schema.
    await db.query(`CREATE FUNCTION public.refuse_tables() RETURNS event_trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE schema_name = 'tenant_bundled_bad') THEN
          RAISE EXCEPTION 'tables refused for this test';
        END IF;
      END $$`);
    await db.query(
      "CREATE EVENT TRIGGER refuse_tables ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.refuse_tables()",
    );
    try {
      const run = await engine.start(PROVISION, 'bundled-bad', {
        tenantId: 'bundled-bad',
        displayName: 'Bundled, refused',
        blueprint: 'docex',
        requestedBy: 'test',
      });
      const record = await run.done;
      expect(record.status).toBe('FAILED');
      const history = await historyOf(db, record.executionId);
      const failed = history
        .filter((e) => e.type === 'TaskFailed')
        .map((e) => e.taskFailedEventDetails?.error);
      expect(failed).toEqual(['DatabaseError']);
      const entered = history
        .filter((e) => e.type.endsWith('StateEntered'))
        .map((e) => e.stateEnteredEventDetails?.name);
      expect(entered).toContain('Cleanup');
      expect(entered).not.toContain('CreateIndexes');
    } finally {
      await db.query('DROP EVENT TRIGGER refuse_tables');
      await db.query('DROP FUNCTION public.refuse_tables()');
    }
    expect(await schemaExists(db, 'tenant_bundled_bad')).toBe(false);
    expect(await getTenant(db, 'bundled-bad')).toMatchObject({
      status: 'failed',
      failedStep: 'SyncTables',
    });
    const audit = await auditTrail(db, 'bundled-bad');
    expect(audit.map((a) => a.action)).toEqual(['provision.started', 'provision.failed']);
  });

  it('migrates a tenant to v2 with the Migrate bundles (a blueprint folder of v2 given to them)', async () => {
    expect((await provision(engine, 'bundled-mig', 'docex')).record.status).toBe('SUCCEEDED');
    const sandbox = blueprintSandbox();
    try {
      await addDocexVersion(db, sandbox, sandbox.catalog(), '0002_priority_and_notes.sql', DOCEX_V2);
      process.env.TENANTRY_BLUEPRINTS = sandbox.root;
      const migrated = await (
        await engine.start(MIGRATE, 'bundled-mig', { tenantId: 'bundled-mig', requestedBy: 'test' })
      ).done;
      expect(migrated.status, `${migrated.error}: ${migrated.cause}`).toBe('SUCCEEDED');
      expect(await getTenant(db, 'bundled-mig')).toMatchObject({ status: 'active', blueprintVersion: 2 });
      // Already at v2: refused at Validate by name, and Cleanup leaves the tenant alone.
      const again = await (
        await engine.start(MIGRATE, 'bundled-mig', { tenantId: 'bundled-mig', requestedBy: 'test' })
      ).done;
      expect(again).toMatchObject({ status: 'FAILED', error: 'TenantStateError' });
      expect(await getTenant(db, 'bundled-mig')).toMatchObject({ status: 'active', blueprintVersion: 2 });
    } finally {
      delete process.env.TENANTRY_BLUEPRINTS;
      sandbox.dispose();
    }
  });

  it('rolls a fleet out with the Rollout bundles: its Distributed Map starts the synthesized Migrate per tenant', async () => {
    const fleet = ['bundled-r1', 'bundled-r2', 'bundled-r3'];
    for (const tenantId of fleet)
      expect((await provision(engine, tenantId, 'docex')).record.status).toBe('SUCCEEDED');
    const sandbox = blueprintSandbox();
    try {
      await addDocexVersion(db, sandbox, sandbox.catalog(), '0002_priority_and_notes.sql', DOCEX_V2);
      process.env.TENANTRY_BLUEPRINTS = sandbox.root;
      const record = await (
        await engine.start(ROLLOUT, 'r-bundled', {
          rolloutId: 'r-bundled',
          blueprint: 'docex',
          selector: { tenantIds: fleet },
          canary: { count: 1 },
          concurrency: 2,
          requestedBy: 'test',
        })
      ).done;
      expect(record.status, `${record.error}: ${record.cause}`).toBe('SUCCEEDED');
      const { rows } = await db.query<{ status: string; wave: number; n: number }>(
        `SELECT status, wave, count(*)::int AS n FROM tenantry.rollout_tenants
          WHERE rollout_id = 'r-bundled' GROUP BY 1, 2 ORDER BY 2`,
      );
      expect(rows).toEqual([
        { status: 'succeeded', wave: 0, n: 1 },
        { status: 'succeeded', wave: 1, n: 2 },
      ]);
      for (const tenantId of fleet)
        expect(await getTenant(db, tenantId), tenantId).toMatchObject({
          status: 'active',
          blueprintVersion: 2,
        });
      // Each tenant by a Migrate execution the Map started, every one of its tasks from a bundle.
      const { rows: children } = await db.query<{ status: string; n: number }>(
        `SELECT status, count(*)::int AS n FROM tenantry.executions
          WHERE workflow = 'Migrate' AND tenant_id = ANY ('{bundled-r1,bundled-r2,bundled-r3}'::text[]) GROUP BY 1`,
      );
      expect(children).toEqual([{ status: 'SUCCEEDED', n: 3 }]);
    } finally {
      delete process.env.TENANTRY_BLUEPRINTS;
      sandbox.dispose();
    }
  });

  it('deprovisions the tenant: backed up, schema dropped, marked deprovisioned', async () => {
    const run = await engine.start(DEPROVISION, 'bundled-one', {
      tenantId: 'bundled-one',
      requestedBy: 'test',
    });
    const record = await run.done;
    expect(record.status).toBe('SUCCEEDED');
    const history = await historyOf(db, record.executionId);
    const ran = history
      .filter((e) => e.type === 'TaskSucceeded')
      .map(
        (e) =>
          history.findLast((h) => h.id < e.id && h.type.endsWith('StateEntered'))?.stateEnteredEventDetails
            ?.name,
      );
    expect(new Set(ran)).toEqual(
      new Set(DEPROVISION.tasks.filter((t) => t.state !== 'Cleanup').map((t) => t.state)),
    );
    expect(await schemaExists(db, 'tenant_bundled_one')).toBe(false);
    expect(await getTenant(db, 'bundled-one')).toMatchObject({ status: 'deprovisioned' });
    const backups = readdirSync(process.env.TENANTRY_BACKUP_DIR ?? '', { recursive: true });
    expect(backups.some((f) => String(f).endsWith('manifest.json'))).toBe(true);
  });

  it('runs the scheduled reconciler from its bundle: it reads the fleet through the Data API and records the run', async () => {
    const id = [...bundles.keys()].find((k) => /^ReconcilerFunction[0-9A-F]{8}$/.test(k));
    const dir = id && bundles.get(id);
    if (!dir) throw new Error('no reconciler bundle');
    // A tenant someone dropped the schema of: found, and left to a person.
    await db.query(
      `INSERT INTO tenantry.tenants (tenant_id, display_name, schema_name, status, blueprint, blueprint_version, requested_by, execution_id)
       VALUES ('bundled-gone', 'Gone', 'tenant_bundled_gone', 'active', 'docex', 1, 'test', 'x')`,
    );
    process.env.TENANTRY_PROVISION_STATE_MACHINE_ARN = PROVISION_ARN;
    try {
      const { handler } = (await import(join(dir, 'index.mjs'))) as {
        handler: () => Promise<{ id: string; counts: Record<string, number>; unrepaired: number }>;
      };
      const result = await handler();
      expect(result).toMatchObject({ counts: { 'row-without-schema': 1 }, unrepaired: 1 });
      const last = await lastReconciliation({ db, blueprints: new BlueprintCatalog() });
      expect(last).toMatchObject({ id: result.id, repair: true, actor: 'reconciler' });
      expect(last?.findings).toEqual([
        expect.objectContaining({ kind: 'row-without-schema', tenantId: 'bundled-gone' }),
      ]);
    } finally {
      delete process.env.TENANTRY_PROVISION_STATE_MACHINE_ARN;
    }
  });

  it("writes Powertools' JSON logs and EMF metrics as a step's bundle does on Lambda", async () => {
    const id = functionIdOf(definitions.Provision as AslDefinition, 'Validate');
    const dir = id && bundles.get(id);
    if (!dir) throw new Error('no bundle for Provision.Validate');
    const executionId = 'arn:aws:states:us-east-1:000000000000:execution:Provision:on-lambda';
    const event = {
      state: { tenantId: 'Not A Tenant Id!', displayName: 'x', blueprint: 'docex', requestedBy: 'test' },
      execution: { id: executionId, name: 'on-lambda', startTime: new Date().toISOString(), retryCount: 0 },
    };
    // A Lambda container's process: its environment, the bundle imported, the handler invoked once.
    const script = `
      const { handler } = await import(process.argv[1]);
      const context = { functionName: 'tenantry-validate', functionVersion: '$LATEST', awsRequestId: 'request-1',
        memoryLimitInMB: '256', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:tenantry-validate',
        getRemainingTimeInMillis: () => 30000 };
      try { await handler(JSON.parse(process.argv[2]), context); } catch (e) { console.log('threw ' + e.name); }`;
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--input-type=module', '-e', script, join(dir, 'index.mjs'), JSON.stringify(event)],
      {
        env: {
          ...process.env,
          AWS_LAMBDA_FUNCTION_NAME: 'tenantry-validate',
          AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
          _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
          AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
          AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
          TENANTRY_LOG_LEVEL: '',
        },
      },
    );
    expect(stdout).toContain('threw ValidationError');
    const lines = `${stdout}\n${stderr}`
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = lines.find((l) => l.message === 'step failed');
    expect(failed).toMatchObject({
      level: 'ERROR',
      service: 'tenantry',
      cold_start: true,
      function_name: 'tenantry-validate',
      function_request_id: 'request-1',
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      executionId,
      workflow: 'Provision',
      step: 'Validate',
      error: { name: 'ValidationError' },
    });
    const emf = lines.filter((l) => '_aws' in l);
    const names = emf.map(
      (l) =>
        (l._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]?.Metrics[0]
          ?.Name,
    );
    expect(names.sort()).toEqual(['StepDuration', 'StepFailed']);
    for (const l of emf) {
      expect(l).toMatchObject({
        _aws: { CloudWatchMetrics: [{ Namespace: 'Tenantry', Dimensions: [['workflow', 'step']] }] },
        workflow: 'Provision',
        step: 'Validate',
      });
    }
  });

  it("traces a route's bundle on Lambda: X-Ray gets its handler's subsegment and one per Data API call", async () => {
    const id = [...bundles.keys()].find((k) => k.startsWith('ApiFunctionsGetStats'));
    const dir = id && bundles.get(id);
    if (!dir) throw new Error('no bundle for the GetStats route');
    // The X-Ray daemon, as Lambda runs one: UDP, a header line then a segment document per datagram.
    const daemon = createSocket('udp4');
    const documents: Record<string, unknown>[] = [];
    daemon.on('message', (msg) => {
      const [, body] = msg.toString('utf8').split('\n');
      if (body) documents.push(JSON.parse(body) as Record<string, unknown>);
    });
    await new Promise<void>((ready) => daemon.bind(0, '127.0.0.1', ready));
    const event = {
      version: '2.0',
      routeKey: 'GET /stats',
      rawPath: '/stats',
      rawQueryString: '',
      headers: {},
      requestContext: { requestId: 'request-2', http: { method: 'GET', path: '/stats' } },
      isBase64Encoded: false,
    };
    const script = `
      const { handler } = await import(process.argv[1]);
      const context = { functionName: 'tenantry-get-stats', functionVersion: '$LATEST', awsRequestId: 'request-2',
        getRemainingTimeInMillis: () => 30000 };
      const res = await handler(JSON.parse(process.argv[2]), context);
      console.log('status ' + res.statusCode);`;
    try {
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--input-type=module', '-e', script, join(dir, 'index.mjs'), JSON.stringify(event)],
        {
          env: {
            ...process.env,
            AWS_LAMBDA_FUNCTION_NAME: 'tenantry-get-stats',
            LAMBDA_TASK_ROOT: dir,
            _HANDLER: 'index.handler',
            AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
            AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
            _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272794;Parent=53995c3f42cd8ad9;Sampled=1',
            AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
            AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
          },
        },
      );
      expect(stdout).toContain('status 200');
      // Datagrams on loopback arrive at once; give the socket a turn to read them.
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      daemon.close();
    }
    const traced = documents.filter((d) => d.trace_id === '1-5759e988-bd862e3fe1be46a994272794');
    const names = traced.map((d) => d.name);
    expect(names, JSON.stringify(names)).toContain('## index.handler');
    const calls = traced.filter((d) => d.namespace === 'aws');
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls)
      expect(call).toMatchObject({ name: 'RDSData', aws: { operation: 'ExecuteStatement' } });
    const handlerSegment = traced.find((d) => d.name === '## index.handler') as { annotations?: unknown };
    expect(handlerSegment.annotations).toMatchObject({
      route: 'GetStats',
      ColdStart: true,
      Service: 'tenantry',
    });
  });
});
