import { randomBytes } from 'node:crypto';
import { startS3Server } from '../../../test/support/s3-server';
import { describeBlobStore } from './blob-store.contract';
import { S3BlobStore } from './s3-blob-store';

describeBlobStore('S3 (s3rver)', async () => {
  const server = await startS3Server();
  const store = new S3BlobStore({
    kind: 's3',
    // A bucket that does not exist yet: init must create it.
    bucket: `contract-${randomBytes(4).toString('hex')}`,
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  return { store, close: () => server.stop() };
});
