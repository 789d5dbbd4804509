export { StorageModule, createBlobStore } from './storage.module';
export { BLOB_STORE, BlobNotFoundError, type BlobStore, type ListedBlob } from './blob-store';
export { ContentAddressedStore, contentKey, type BlobReader, STALE_TEMPORARY_AFTER_MS, type StoredContent, type TemporaryCleanup } from './content-addressed-store';
export { FilesystemBlobStore } from './filesystem-blob-store';
export { S3BlobStore } from './s3-blob-store';
export { DigestStream } from './digest-stream';
export { WRITEBACK_INTERVAL_BYTES } from './durable-file-writer';
export { BlobCorruptError, BlobMissingError, BlobStoreUnavailableError, DigestMismatchError, FileTooLargeError, S3CredentialsMissingError, S3UnreachableError } from './errors';
