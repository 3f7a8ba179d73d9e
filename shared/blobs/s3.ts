import type { S3Client } from '@aws-sdk/client-s3';
import { isSdkError, s3Sdk } from '../aws-sdk';
import { NotFoundError } from '../errors';
import { traceClient } from '../observability/lambda';
import { type BlobStore, RETENTION_TAG, type Retention } from './port';

const { GetObjectCommand, PutObjectCommand, S3Client: S3 } = s3Sdk();

/** The backup bucket. Objects are tagged with their retention for the bucket's lifecycle rule. */
export class S3Store implements BlobStore {
  constructor(
    private readonly bucket: string,
    private readonly client: S3Client = traceClient(new S3({})),
  ) {}

  async put(
    key: string,
    body: string,
    options: { contentType: string; retention: Retention },
  ): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: options.contentType,
        Tagging: `${RETENTION_TAG}=${options.retention}`,
      }),
    );
  }

  async get(key: string): Promise<string> {
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await result.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (isSdkError(error, 'NoSuchKey'))
        throw new NotFoundError(`no backup object s3://${this.bucket}/${key}`);
      throw error;
    }
  }

  location(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }
}
