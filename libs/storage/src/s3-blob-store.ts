import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  S3Client,
  UploadPartCopyCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BlobStoreConfig } from '@gatehouse/config';
import { BlobNotFoundError, type BlobStore, type ListedBlob } from './blob-store';
import { S3CredentialsMissingError, S3UnreachableError } from './errors';

type S3Config = Extract<BlobStoreConfig, { kind: 's3' }>;

/** Parts of 8 MiB, four in flight: at most ~32 MiB buffered per upload whatever the file's size. */
const UPLOAD_PART_SIZE = 8 * 1024 * 1024;
const UPLOAD_QUEUE_SIZE = 4;
/** CopyObject's limit; larger objects are copied part by part. */
const MAX_SINGLE_COPY = 5 * 1024 ** 3;
const COPY_PART_SIZE = 512 * 1024 * 1024;
/** How long start-up waits for an endpoint that refuses connections: an S3 server starting beside the registry. */
const CONNECT_WAIT_MS = 30_000;
const CONNECT_POLL_MS = 250;

export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly endpoint: string;
  private readonly connectWaitMs: number;

  constructor(config: S3Config, options: { connectWaitMs?: number } = {}) {
    this.bucket = config.bucket;
    this.endpoint = config.endpoint ?? `AWS S3 (${config.region})`;
    this.connectWaitMs = options.connectWaitMs ?? CONNECT_WAIT_MS;
    // The SDK warns on every start under Node 20 that its releases after January 2027 will need Node 22. Gatehouse
    // supports Node 20 with the SDK its lock file pins (README, after the intro); this is the SDK's documented switch.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: config.credentials,
      // We hash every byte ourselves; optional CRC trailers trip many S3-compatible servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async init(onWaiting?: (message: string) => void): Promise<void> {
    await this.resolveCredentials();
    try {
      await this.headBucketOnceReachable(onWaiting);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket })).catch((createError: unknown) => {
        if ((createError as Error).name !== 'BucketAlreadyOwnedByYou') throw createError;
      });
    }
  }

  /** Refused connections are retried until the wait runs out; anything else (403, 404, a TLS error) answers at once. */
  private async headBucketOnceReachable(onWaiting?: (message: string) => void): Promise<void> {
    const deadline = Date.now() + this.connectWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
        return;
      } catch (error) {
        if (!isConnectionRefused(error)) throw error;
        if (Date.now() >= deadline) throw new S3UnreachableError(this.endpoint, this.connectWaitMs, error);
        if (attempt === 0) onWaiting?.(`waiting up to ${this.connectWaitMs / 1000} s for S3 at ${this.endpoint}, which refuses connections`);
        await sleep(CONNECT_POLL_MS);
      }
    }
  }

  /** Resolved once at start, through the SDK's chain (variables, profile, SSO, web identity, container or instance role), so that none found stops start-up with what to set. */
  private async resolveCredentials(): Promise<void> {
    try {
      await this.client.config.credentials();
    } catch (error) {
      if ((error as Error).name === 'CredentialsProviderError') throw new S3CredentialsMissingError(this.bucket);
      throw error;
    }
  }

  async put(key: string, body: Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body },
      partSize: UPLOAD_PART_SIZE,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    // A failing body fails done() too, but only once parts in flight have settled and the multipart upload is
    // aborted; done() may then report the abort's own error, so the body's error is kept to say what went wrong.
    let bodyError: unknown;
    const onBodyError = (error: unknown) => {
      bodyError = error;
    };
    body.once('error', onBodyError);
    try {
      await upload.done();
    } catch (error) {
      throw bodyError ?? error;
    } finally {
      body.off('error', onBodyError);
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return response.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError(key);
      throw error;
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const source = await this.stat(from);
    if (!source) throw new BlobNotFoundError(from);
    if (source.size <= MAX_SINGLE_COPY) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: `${this.bucket}/${from}` }));
    } else {
      await this.copyInParts(from, to, source.size);
    }
    await this.delete(from);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async *list(prefix: string): AsyncIterable<ListedBlob> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken }));
      for (const object of page.Contents ?? []) {
        yield { key: object.Key!, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
  }

  /**
   * An upload's last activity is its newest part, or its start when it has
   * none: S3 keeps no other clock for it. Servers that cannot list uploads
   * (s3rver, some gateways) answer NotImplemented: undefined, and a bucket
   * lifecycle rule (AbortIncompleteMultipartUpload) must clean them instead.
   */
  async abortUploadsIdleSince(prefix: string, before: Date): Promise<number | undefined> {
    let aborted = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (let more = true; more;) {
      let page;
      try {
        page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker, UploadIdMarker }));
      } catch (error) {
        if (isNotImplemented(error)) return undefined;
        throw error;
      }
      for (const upload of page.Uploads ?? []) {
        const lastActivity = await this.lastPartWritten(upload.Key!, upload.UploadId!, upload.Initiated ?? new Date(0));
        if (lastActivity >= before) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }));
        aborted++;
      }
      ({ NextKeyMarker: KeyMarker, NextUploadIdMarker: UploadIdMarker } = page);
      more = !!page.IsTruncated;
    }
    return aborted;
  }

  async health(): Promise<{ ok: boolean; error?: string }> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return { ok: true };
    } catch (error) {
      return { ok: false, error: (error as Error).name || (error as Error).message };
    }
  }

  private async lastPartWritten(key: string, uploadId: string, initiated: Date): Promise<Date> {
    let latest = initiated;
    let PartNumberMarker: string | undefined;
    do {
      const page = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker }));
      for (const part of page.Parts ?? []) if (part.LastModified && part.LastModified > latest) latest = part.LastModified;
      PartNumberMarker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (PartNumberMarker);
    return latest;
  }

  private async copyInParts(from: string, to: string, size: number): Promise<void> {
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }));
    try {
      const parts: { ETag?: string; PartNumber: number }[] = [];
      for (let offset = 0, part = 1; offset < size; offset += COPY_PART_SIZE, part++) {
        const end = Math.min(offset + COPY_PART_SIZE, size) - 1;
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId,
            PartNumber: part,
            CopySource: `${this.bucket}/${from}`,
            CopySourceRange: `bytes=${offset}-${end}`,
          }),
        );
        parts.push({ ETag: copied.CopyPartResult?.ETag, PartNumber: part });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId })).catch(() => undefined);
      throw error;
    }
  }
}

/** By message too: the SDK's retry layer rebuilds a socket error from another realm (a test sandbox) without its code. */
function isConnectionRefused(error: unknown): boolean {
  return (error as { code?: string })?.code === 'ECONNREFUSED' || /\bECONNREFUSED\b/.test((error as Error)?.message ?? '');
}

function isNotImplemented(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotImplemented' || e?.$metadata?.httpStatusCode === 501;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.name === 'NoSuchBucket' || e?.$metadata?.httpStatusCode === 404;
}
