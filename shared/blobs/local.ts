import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NotFoundError, ValidationError } from '../errors';
import type { BlobStore, Retention } from './port';

/** A folder standing in for the backup bucket. Writes are atomic (write, then rename). */
export class LocalFolderStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private pathOf(key: string): string {
    const path = resolve(join(this.root, key));
    if (!path.startsWith(this.root + sep))
      throw new ValidationError([{ field: 'key', reason: `'${key}' leaves the store` }]);
    return path;
  }

  async put(
    key: string,
    body: string,
    options: { contentType: string; retention: Retention },
  ): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, path);
    // The retention the bucket's lifecycle rule would act on, kept beside the object.
    await writeFile(
      `${path}.meta.json`,
      JSON.stringify({ contentType: options.contentType, retention: options.retention }),
    );
  }

  async get(key: string): Promise<string> {
    try {
      return await readFile(this.pathOf(key), 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') throw new NotFoundError(`no backup object ${key}`);
      throw error;
    }
  }

  location(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }
}
