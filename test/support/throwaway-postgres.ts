import { execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * A Postgres server of the test's own, in a temp folder on a free port, that the test may stop and
 * start (an outage) without touching the shared server. Needs the server binaries (initdb, pg_ctl):
 * found on PATH, else under /usr/lib/postgresql/<newest version>/bin.
 */
export function postgresBinDir(): string | undefined {
  const executable = (dir: string) => {
    try {
      accessSync(join(dir, 'pg_ctl'), constants.X_OK);
      accessSync(join(dir, 'initdb'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const onPath = (process.env.PATH ?? '').split(delimiter).find((d) => d && executable(d));
  if (onPath) return onPath;
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  return versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'))
    .find(executable);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Postgres refuses to run as root: then its commands run as the `postgres` user. */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [bin, args];
  return ['runuser', ['-u', 'postgres', '--', bin, ...args]];
}

export class ThrowawayPostgres {
  private constructor(
    private readonly bin: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(bin: string): Promise<ThrowawayPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-pg-'));
    const pg = new ThrowawayPostgres(bin, dir, await freePort());
    try {
      if (process.getuid?.() === 0) {
        const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
        const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
        chownSync(dir, uid, gid);
      }
      pg.run('initdb', ['-D', pg.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
      pg.start();
      return pg;
    } catch (error) {
      pg.destroy();
      throw error;
    }
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private run(tool: string, args: string[]): void {
    const [command, argv] = asServerUser(join(this.bin, tool), args);
    execFileSync(command, argv, { stdio: 'pipe' });
  }

  start(): void {
    this.run('pg_ctl', [
      'start',
      '-w',
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    ]);
  }

  /**
   * Makes TCP logins need a password, SCRAM only, as a production server does (the superuser
   * `postgres` stays trusted, so tests can set things up), and restarts the server to apply it.
   */
  requirePasswords(): void {
    writeFileSync(
      join(this.dataDir, 'pg_hba.conf'),
      'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
    );
    this.stop();
    this.start();
  }

  /** A fast shutdown: sessions are cut, as in a restart or a failover. */
  stop(): void {
    this.run('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', this.dataDir]);
  }

  /** Stops the server if it runs and removes its folder. */
  destroy(): void {
    try {
      this.run('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', this.dataDir]);
    } catch {
      // not running
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
