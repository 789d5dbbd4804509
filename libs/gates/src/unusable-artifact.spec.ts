import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryFailedError } from 'typeorm';
import { BlobMissingError, BlobNotFoundError, BlobStoreUnavailableError } from '@gatehouse/storage';
import { GATE_CHECKS, GatePolicy } from '@gatehouse/gate-engine';
import { asUnusableArtifact, unusableArtifactReport, UnusableArtifactError } from './unusable-artifact';

const failure = (work: Promise<unknown>) =>
  work.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );

describe('asUnusableArtifact', () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(join(tmpdir(), 'gatehouse-unusable-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('takes paths the filesystem refuses for good: a segment over 255 bytes, a file where a directory must be', async () => {
    const tooLong = await failure(mkdir(join(root, 'a'.repeat(256)), { recursive: true }));
    expect(asUnusableArtifact(tooLong)).toMatchObject({ code: 'unmaterializable_path', details: { errno: 'ENAMETOOLONG' } });

    await writeFile(join(root, 'model.onnx'), 'x');
    const underAFile = await failure(mkdir(join(root, 'model.onnx', 'evil'), { recursive: true }));
    expect(asUnusableArtifact(underAFile)).toBeInstanceOf(UnusableArtifactError);

    await mkdir(join(root, 'x'));
    expect(asUnusableArtifact(await failure(writeFile(join(root, 'x'), 'y')))).toMatchObject({ details: { errno: 'EISDIR' } });
  });

  it('takes content addresses no store holds', () => {
    expect(asUnusableArtifact(new BlobNotFoundError('sha256/ab/abc'))).toMatchObject({ code: 'blob_unavailable' });
    expect(asUnusableArtifact(new BlobMissingError('abc'))).toMatchObject({ code: 'blob_unavailable' });
  });

  it('leaves what a retry may fix: an unreachable store or database, a full disk', () => {
    expect(asUnusableArtifact(new BlobStoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:9000')))).toBeUndefined();
    expect(asUnusableArtifact(new QueryFailedError('SELECT 1', [], new Error('terminating connection due to administrator command')))).toBeUndefined();
    expect(asUnusableArtifact(Object.assign(new Error('no space left on device'), { code: 'ENOSPC', path: join(root, 'x') }))).toBeUndefined();
    expect(asUnusableArtifact(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeUndefined();
  });
});

describe('unusableArtifactReport', () => {
  it('is a failed report whose one critical result names the cause and what to do', () => {
    const policy = GatePolicy.parse({ stages: { registered: { checks: { files_intact: {}, artifact_scan: {} } } } }, GATE_CHECKS).resolve('registered', 'other');
    const report = unusableArtifactReport(
      new UnusableArtifactError('ENAMETOOLONG: name too long', 'unmaterializable_path'),
      policy,
      { model: 'm', version: '1.0.0', task: 'other' },
      new Date(),
    );
    expect(report).toMatchObject({ stage: 'registered', verdict: 'failed', healthScore: 0, failedChecks: ['workspace'], summary: { total: 1, failed: 1 } });
    expect(report.results[0].message).toContain('none of its 2 check(s) ran: ENAMETOOLONG');
    expect(report.recommendations[0].recommendation).toMatch(/255 bytes/);
  });
});
