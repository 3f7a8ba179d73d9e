import { backupConfigFromEnv } from '../config';
import type { BlobStore } from './port';

let store: Promise<BlobStore> | undefined;

/** The backup store the environment names, created once per process (S3 client loaded only when used). */
export function backupStore(): Promise<BlobStore> {
  store ??= (async () => {
    const config = backupConfigFromEnv();
    if (config.kind === 's3') {
      const { S3Store } = await import('./s3');
      return new S3Store(config.bucket);
    }
    const { LocalFolderStore } = await import('./local');
    return new LocalFolderStore(config.dir);
  })();
  return store;
}

/** Tests point backups at a fresh folder between runs. */
export function resetBackupStore(): void {
  store = undefined;
}
