import { Global, Inject, Module, OnModuleInit } from '@nestjs/common';
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
  providers: [
    { provide: BLOB_STORE, useFactory: (config: AppConfig) => createBlobStore(config.blobStore), inject: [APP_CONFIG] },
    ContentAddressedStore,
  ],
  exports: [BLOB_STORE, ContentAddressedStore],
})
export class StorageModule implements OnModuleInit {
  constructor(@Inject(BLOB_STORE) private readonly blobs: BlobStore) {}

  async onModuleInit(): Promise<void> {
    await this.blobs.init();
  }
}
