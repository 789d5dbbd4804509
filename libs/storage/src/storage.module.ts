import { Global, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { BLOB_STORE, type BlobStore } from './blob-store';
import { ContentAddressedStore } from './content-addressed-store';
import { FilesystemBlobStore } from './filesystem-blob-store';
import { S3BlobStore } from './s3-blob-store';

export function createBlobStore(config: AppConfig['blobStore']): BlobStore {
  return config.kind === 's3' ? new S3BlobStore(config) : new FilesystemBlobStore(config.root);
}

@Global()
@Module({
  providers: [{ provide: BLOB_STORE, useFactory: (config: AppConfig) => createBlobStore(config.blobStore), inject: [APP_CONFIG] }, ContentAddressedStore],
  exports: [BLOB_STORE, ContentAddressedStore],
})
export class StorageModule implements OnModuleInit {
  private readonly logger = new Logger('Storage');

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly content: ContentAddressedStore,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.blobs.init((message) => this.logger.log(message));
    await this.removeStaleTemporaries();
  }

  /** Housekeeping, not a precondition: a failure is reported and the registry starts anyway. */
  private async removeStaleTemporaries(): Promise<void> {
    try {
      const { removedKeys, abortedUploads } = await this.content.removeStaleTemporaries();
      if (removedKeys.length > 0 || abortedUploads) {
        this.logger.log(`removed ${removedKeys.length} temporary blobs and ${abortedUploads ?? 0} unfinished uploads that crashed uploads left behind`);
      }
      if (abortedUploads === undefined) {
        this.logger.warn(`the ${this.blobs.kind} endpoint cannot list unfinished multipart uploads; give the bucket an AbortIncompleteMultipartUpload lifecycle rule`);
      }
    } catch (error) {
      this.logger.warn(`could not remove stale temporary uploads: ${(error as Error).message}`);
    }
  }
}
