import { chmod, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DatabaseEndpoint } from '../config';
import { ValidationError } from '../errors';
import { secretText, type TenantLoginDetails, type TenantLoginRef, type TenantLoginSecrets } from './port';

/** A login role's name, as tenant_login.sql makes it: the only thing a file may be named after. */
const LOGIN_NAME = /^[a-z0-9_]{1,63}$/;

/**
 * The login secrets of the local engine: a file per login, `<dir>/<login role>.json`, readable by
 * its owner only (mode 0600, in a folder of mode 0700). Named after the login role, which carries a
 * hash of the database and the schema, so tenants of two databases sharing one folder never share a
 * file. Writes are atomic (a new file of mode 0600, then a rename).
 */
export class LocalTenantLoginSecrets implements TenantLoginSecrets {
  readonly dir: string;

  constructor(
    dir: string,
    private readonly endpoint: DatabaseEndpoint = {},
  ) {
    this.dir = resolve(dir);
  }

  pathOf(login: TenantLoginRef): string {
    if (!LOGIN_NAME.test(login.username))
      throw new ValidationError([
        { field: 'username', reason: `'${login.username}' is not a login role's name` },
      ]);
    return join(this.dir, `${login.username}.json`);
  }

  async put(login: TenantLoginDetails, password: string): Promise<string> {
    const path = this.pathOf(login);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    await unlink(tmp).catch(() => undefined);
    await writeFile(tmp, secretText(login, password, this.endpoint), { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
    return path;
  }

  async remove(login: TenantLoginRef): Promise<boolean> {
    try {
      await unlink(this.pathOf(login));
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return false;
      throw error;
    }
  }
}
