import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { HistoryEvent } from '../../shared/progress';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every event id 1..n in order, each pointing at the one before. */
export function expectContiguous(history: readonly HistoryEvent[]): void {
  expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
  expect(history.map((e) => e.previousEventId)).toEqual(history.map((_, i) => i));
}

/** A Tenantry entry point (local/cli.ts, local/server.ts) running in a process of its own, with tsx. */
export class TsxProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** The exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  constructor(entry: string, args: readonly string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, entry), ...args], {
      cwd: ROOT,
      env: { ...process.env, TENANTRY_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const seen = () => {
      for (const w of this.waiters) w();
    };
    this.child.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      seen();
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      seen();
    });
    this.exited = new Promise((done) =>
      this.child.once('exit', (code, signal) => {
        seen();
        done({ code, signal });
      }),
    );
  }

  /** Resolves with the first match of `pattern` in stdout+stderr; rejects if the process ends first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    return new Promise((done, fail) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        fail(new Error(`timed out waiting for ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
      }, timeoutMs);
      const check = () => {
        const m = `${this.stdout}\n${this.stderr}`.match(pattern);
        if (m) {
          clearTimeout(timer);
          this.waiters.delete(check);
          done(m);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          clearTimeout(timer);
          this.waiters.delete(check);
          fail(new Error(`process ended before ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** SIGKILL: no handler runs, nothing is flushed or closed, as in a crash or `kill -9`. */
  async crash(): Promise<void> {
    this.child.kill('SIGKILL');
    expect((await this.exited).signal).toBe('SIGKILL');
  }
}

/** Runs a CLI command to its end: its exit code and output. */
export async function runCli(args: readonly string[], env: Record<string, string>) {
  const p = new TsxProcess('local/cli.ts', args, env);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}
