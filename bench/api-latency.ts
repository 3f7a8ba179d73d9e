#!/usr/bin/env -S npx tsx
/**
 * Latency of the local HTTP API for `GET /executions/{id}` (an execution's status and steps, read
 * from its stored history) under load. The server runs in its own process (`tsx local/server.ts`);
 * this process is the load: `--concurrency` clients, each sending its next request as soon as the
 * last one is answered, for `--seconds`. Results go to bench/results/api-latency-<date>.json.
 *
 *   npx tsx bench/api-latency.ts [--concurrency 16] [--seconds 10] [--backend pglite|postgres]
 *
 * `--backend postgres` (the default when DATABASE_URL is set) uses a scratch database on that
 * server, dropped at the end; `pglite` an embedded database in a temporary folder.
 */
import '../local/bin/node-version.mjs';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ApiClient } from '../local/api-client';
import { dropLeftoverTenantRolesSql } from '../shared/registry/leftover-roles';
import { percentile } from './stats';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '10' },
    backend: { type: 'string', default: process.env.DATABASE_URL ? 'postgres' : 'pglite' },
  },
});
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);
const backend = values.backend === 'postgres' ? 'postgres' : 'pglite';

const round = (v: number) => Math.round(v * 100) / 100;

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Starts `tsx local/server.ts` on a free port and resolves with its URL. */
function startServer(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['local/server.ts'], {
    cwd: ROOT,
    env: { ...env, PORT: '0', TENANTRY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((ready, fail) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /Tenantry API on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) ready({ child, url });
    });
    child.once('exit', (code) => fail(new Error(`the server exited (${code}) before it listened: ${out}`)));
  });
}

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  let scratch: (() => Promise<void>) | undefined;
  let database = 'embedded PGlite';
  if (backend === 'postgres') {
    const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const name = `tenantry_bench_api_${process.pid}`;
    await admin(url, `CREATE DATABASE ${name}`);
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${name}`;
    env.DATABASE_URL = dbUrl.toString();
    env.TENANTRY_DATA_DIR = undefined;
    database = `${new URL(url).host} (scratch database ${name})`;
    scratch = async () => {
      await admin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin(url, dropLeftoverTenantRolesSql(name));
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-bench-api-'));
    env.DATABASE_URL = undefined;
    env.TENANTRY_DATA_DIR = dir;
    scratch = async () => rmSync(dir, { recursive: true, force: true });
  }

  const { child, url } = await startServer(env);
  try {
    const api = new ApiClient(url);
    console.error(`server ${url} on ${database}; provisioning the tenant to read`);
    const started = await api.post<{ executionName: string }>('/tenants', {
      tenantId: 'bench-api',
      displayName: 'Bench',
      blueprint: 'school-erp',
      requestedBy: 'bench',
    });
    if (started.status !== 202) throw new Error(`POST /tenants answered ${started.status}`);
    const path = `/executions/${started.body.executionName}`;
    let status = 'RUNNING';
    while (status === 'RUNNING') {
      await new Promise((r) => setTimeout(r, 200));
      status = (await api.get<{ status: string }>(path)).body.status;
    }
    if (status !== 'SUCCEEDED') throw new Error(`the execution ended ${status}`);
    const steps = (await api.get<{ steps: unknown[] }>(path)).body.steps.length;
    const events = await api.get<{ items: unknown[] }>(`${path}/history?limit=1000`);

    console.error(`warming up, then ${concurrency} clients for ${seconds} s on GET ${path}`);
    for (let i = 0; i < 100; i++) await api.get(path);

    const samples: number[] = [];
    let errors = 0;
    const until = performance.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const s = performance.now();
          const res = await api.get(path);
          samples.push(performance.now() - s);
          if (res.status !== 200) errors++;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const sorted = [...samples].sort((a, b) => a - b);
    const date = new Date().toISOString().slice(0, 10);
    const result = {
      benchmark: 'api-latency',
      date,
      command: `npx tsx bench/api-latency.ts --concurrency ${concurrency} --seconds ${seconds} --backend ${backend}`,
      route: 'GET /executions/{executionId}',
      what: `status and ${steps} steps of a SUCCEEDED school-erp execution, mapped from its ${events.body.items.length} stored history events on every request`,
      server:
        'tsx local/server.ts in its own process; the load from the bench process over HTTP/1.1 keep-alive',
      database,
      concurrency,
      seconds,
      requests: samples.length,
      errors,
      throughputRps: round(samples.length / elapsed),
      latencyMs: {
        p50: round(percentile(sorted, 50)),
        p90: round(percentile(sorted, 90)),
        p99: round(percentile(sorted, 99)),
        mean: round(samples.reduce((a, b) => a + b, 0) / samples.length),
        min: round(sorted[0] ?? Number.NaN),
        max: round(sorted.at(-1) ?? Number.NaN),
      },
      node: process.version,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', platform: process.platform },
    };
    const file = join(ROOT, 'bench/results', `api-latency-${date}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      `GET /executions/{id} on ${backend}, ${concurrency} clients: p50 ${result.latencyMs.p50} ms, ` +
        `p99 ${result.latencyMs.p99} ms, ${result.throughputRps} req/s, ${errors} errors; wrote ${file}`,
    );
    if (errors > 0) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await scratch?.();
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
