import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { benignCorpus, hostileCorpus, type CorpusCase } from '../../../test/fixtures/hostile-corpus';
import { PICKLE_SENTINEL } from '../../../test/fixtures/pickles';
import { scanArtifact, type ScanPolicy } from './artifact-scanner';

const MIB = 1024 * 1024;
/** The artifact_scan check's defaults (config/gates.json leaves them as they are). */
const POLICY: ScanPolicy = {
  maxZipEntries: 100_000,
  maxZipRatio: 250,
  maxZipTotalBytes: 16_384 * MIB,
  maxZipDepth: 2,
  maxMemberBytes: 1024 * MIB,
  maxInflateBytes: 4096 * MIB,
  allowedGlobals: [],
  allowedOnnxDomains: [],
};
const BLOCKING = ['CRITICAL', 'HIGH'];

let directory: string;
beforeAll(async () => {
  rmSync(PICKLE_SENTINEL, { force: true });
  directory = await mkdtemp(join(tmpdir(), 'gatehouse-corpus-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
  expect(existsSync(PICKLE_SENTINEL)).toBe(false);
});

let caseNumber = 0;
async function scanCase(corpusCase: CorpusCase) {
  const root = join(directory, String(caseNumber++));
  for (const [path, bytes] of Object.entries(corpusCase.files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
  }
  return scanArtifact(
    root,
    Object.entries(corpusCase.files).map(([path, bytes]) => ({ path, size: bytes.length })),
    POLICY,
  );
}

describe('the hostile corpus', () => {
  const corpus = hostileCorpus();
  it('covers every class of bypass', () => {
    expect(new Set(corpus.map((corpusCase) => corpusCase.kind))).toEqual(
      new Set(['dangerous global', 'unlisted global', 'python 2 name', 'external data', 'framing', 'content', 'layout', 'zip bomb', 'paths', 'keras', 'legacy torch']),
    );
  });

  it.each(corpus.map((corpusCase) => [corpusCase.name, corpusCase] as const))('fails %s', async (_, corpusCase) => {
    const { findings } = await scanCase(corpusCase);
    const blocking = findings.filter((finding) => BLOCKING.includes(finding.severity));
    expect(blocking).not.toEqual([]);
    if (corpusCase.global) expect(blocking.map((finding) => `${finding.module}.${finding.name}`)).toContain(corpusCase.global);
  });
});

describe('the benign corpus', () => {
  it.each(benignCorpus().map((corpusCase) => [corpusCase.name, corpusCase] as const))('passes %s', async (_, corpusCase) => {
    const { findings } = await scanCase(corpusCase);
    expect(findings.filter((finding) => BLOCKING.includes(finding.severity))).toEqual([]);
  });
});
