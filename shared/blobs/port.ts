/**
 * Where backups go: a folder on this machine locally, an S3 bucket on AWS. Keys are relative
 * paths (`backups/<tenant>/<backup>/...`); `location` turns one into a URL people can follow.
 */
export type Retention = 'expire' | 'preserve';

export interface BlobStore {
  put(
    key: string,
    body: string,
    options: { readonly contentType: string; readonly retention: Retention },
  ): Promise<void>;
  /** The object's text; a NotFoundError when there is none. */
  get(key: string): Promise<string>;
  /** `file:///...` or `s3://bucket/...` for a key or prefix. */
  location(key: string): string;
}

/** Backup objects carry this tag; the bucket's lifecycle rule expires those tagged `expire`. */
export const RETENTION_TAG = 'tenantry-retention';
