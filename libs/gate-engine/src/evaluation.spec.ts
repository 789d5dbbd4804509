import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetFormatError, readBatches } from './evaluation';

describe('readBatches', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-batches-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function batchesOf(content: string, batchSize: number, maxExamples = 0) {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.jsonl`);
    await writeFile(path, content);
    const batches = [];
    for await (const batch of readBatches(path, { batchSize, maxExamples })) batches.push(batch);
    return batches;
  }

  it('batches rows with their line numbers, skipping blank lines and accepting CRLF and no final newline', async () => {
    const batches = await batchesOf('{"inputs":{"x":1},"label":0}\r\n\n   \r\n{"inputs":{"x":2},"label":1}\n{"inputs":{"x":3}}', 2);
    expect(batches.map((batch) => batch.map((row) => [row.line, row.inputs.x, row.label]))).toEqual([
      [
        [1, 1, 0],
        [4, 2, 1],
      ],
      [[5, 3, undefined]],
    ]);
  });

  it('reads rows that straddle read chunks, multi-byte characters and lines longer than a chunk intact', async () => {
    const text = 'é€😀'.repeat(20);
    const rows = Array.from({ length: 6000 }, (_, index) => ({ inputs: { index, text, long: index === 4000 ? 'x'.repeat(200_000) : '' } }));
    const batches = await batchesOf(rows.map((row) => JSON.stringify(row)).join('\n'), 64);
    const read = batches.flat();
    expect(read).toHaveLength(6000);
    expect(read.every((row, index) => row.inputs.index === index && row.inputs.text === text && row.line === index + 1)).toBe(true);
    expect((read[4000].inputs.long as string).length).toBe(200_000);
    expect(batches.slice(0, -1).every((batch) => batch.length === 64)).toBe(true);
  });

  it('stops after maxExamples', async () => {
    const batches = await batchesOf(Array.from({ length: 10 }, (_, x) => JSON.stringify({ inputs: { x } })).join('\n'), 4, 6);
    expect(batches.map((batch) => batch.length)).toEqual([4, 2]);
  });

  it('names the line that is not a JSON object with inputs', async () => {
    await expect(batchesOf('{"inputs":{}}\n{"inputs":', 8)).rejects.toThrow(new DatasetFormatError('line 2 is not valid JSON: Unexpected end of JSON input'));
    await expect(batchesOf('{"inputs":{}}\n\n[1]', 8)).rejects.toThrow('line 3 is not a JSON object');
    await expect(batchesOf('{"label":1}', 8)).rejects.toThrow('line 1 has no "inputs" object');
    await expect(batchesOf('{"inputs":{},"outputs":[1]}', 8)).rejects.toThrow('line 1: "outputs" must be an object keyed by output name');
  });
});
