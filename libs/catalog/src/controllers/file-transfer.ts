import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { DomainError } from '@gatehouse/errors';
import type { OpenedFile, UploadDeclaration } from '../services/version.service';

/** What the client declared about an upload's bytes: optionally, their SHA-256. */
export function uploadDeclaration(request: Request): UploadDeclaration {
  const sha256 = request.headers['x-content-sha256'];
  if (Array.isArray(sha256)) throw new DomainError('invalid', 'invalid_digest_header', 'send x-content-sha256 once');
  return { sha256: sha256?.trim().toLowerCase() };
}

/** The still percent-encoded path after `/files/`, so every segment can be checked before decoding. */
export function rawFilePath(request: Request): string {
  const pathname = request.originalUrl.split('?')[0];
  const marker = pathname.indexOf('/files/');
  return marker < 0 ? '' : pathname.slice(marker + '/files/'.length);
}

/**
 * Streams a verified file. If its bytes turn out corrupt mid-way the
 * connection is cut, so the client sees a failed transfer, never a clean
 * response with wrong bytes.
 */
export async function sendFile(response: Response, file: OpenedFile): Promise<void> {
  response.status(200);
  response.setHeader('Content-Type', file.mediaType);
  response.setHeader('Content-Length', String(file.size));
  response.setHeader('ETag', `"sha256:${file.sha256}"`);
  response.setHeader('X-Content-SHA256', file.sha256);
  response.setHeader('Repr-Digest', `sha-256=:${Buffer.from(file.sha256, 'hex').toString('base64')}:`);
  response.setHeader('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.path.split('/').pop() ?? 'file')}`);
  try {
    await pipeline(file.stream, response);
  } catch {
    response.destroy();
  }
}
