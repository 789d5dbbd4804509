import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import type { GateSubjectRecord } from '@gatehouse/catalog';
import { MetricsService } from '@gatehouse/metrics';
import { ContentAddressedStore, FilesystemBlobStore } from '@gatehouse/storage';
import { ArtifactWorkspace } from './artifact-workspace';

/** The pid of a process that has really run and exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
}

describe('ArtifactWorkspace start-up cleanup', () => {
  let storeDirectory: string;
  let workspaces: ArtifactWorkspace;
  let subject: GateSubjectRecord;
  const planted: string[] = [];

  beforeAll(async () => {
    storeDirectory = await mkdtemp(join(tmpdir(), 'gatehouse-workspace-spec-'));
    const blobs = new FilesystemBlobStore(storeDirectory);
    await blobs.init();
    const content = new ContentAddressedStore(blobs, new MetricsService());
    const stored = await content.ingest(Readable.from([Buffer.from('weights')]), { maxBytes: 1024 });
    workspaces = new ArtifactWorkspace(blobs, content);
    subject = {
      id: 'v',
      model: 'm',
      version: '1.0.0',
      task: 'other',
      status: 'registered',
      stage: 'none',
      schema: null,
      schemaSource: null,
      metrics: {},
      files: [{ path: 'w/weights.bin', ...stored }],
      datasets: [],
    };
  });
  afterAll(async () => {
    await rm(storeDirectory, { recursive: true, force: true });
    await Promise.all(planted.map((directory) => rm(directory, { recursive: true, force: true })));
  });

  /** A directory in the temporary directory as some process would have left it. */
  const plant = async (name: string) => {
    const directory = join(tmpdir(), name);
    await mkdir(join(directory, 'files'), { recursive: true });
    await writeFile(join(directory, 'files', 'model.onnx'), 'left behind');
    planted.push(directory);
    return directory;
  };

  it("removes the workspaces of dead processes on this host, and keeps live ones, other hosts' and unknown directories", async () => {
    const live = await workspaces.materialize(subject);
    expect(await readFile(join(live.filesDirectory, 'w', 'weights.bin'), 'utf8')).toBe('weights');
    const hostTag = /^gatehouse-gate-([0-9a-f]{8})-/.exec(basename(live.directory))![1];
    expect(basename(live.directory)).toMatch(new RegExp(`^gatehouse-gate-${hostTag}-${process.pid}-`));

    const dead = deadPid();
    const crashed = await plant(`gatehouse-gate-${hostTag}-${dead}-Ab12Cd`);
    const otherHost = await plant(`gatehouse-gate-${hostTag === '00000000' ? '11111111' : '00000000'}-${dead}-Ab12Cd`);
    const unowned = await plant('gatehouse-gate-Xy34Zw');

    try {
      const removed = await workspaces.removeAbandoned();
      expect(removed).toContain(crashed);
      expect(removed).not.toContain(live.directory);
      expect(existsSync(crashed)).toBe(false);
      expect(existsSync(join(live.filesDirectory, 'w', 'weights.bin'))).toBe(true);
      expect(existsSync(otherHost)).toBe(true);
      expect(existsSync(unowned)).toBe(true);
    } finally {
      await live.remove();
    }
  });
});
