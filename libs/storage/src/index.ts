export { StorageModule, createBlobStore } from './storage.module';
export { BLOB_STORE, BlobNotFoundError, type BlobStore } from './blob-store';
export { ContentAddressedStore, contentKey, type StoredContent } from './content-addressed-store';
export { FilesystemBlobStore } from './filesystem-blob-store';
export { S3BlobStore } from './s3-blob-store';
export { DigestStream } from './digest-stream';
export { BlobCorruptError, BlobMissingError, BlobStoreUnavailableError, DigestMismatchError, FileTooLargeError } from './errors';
