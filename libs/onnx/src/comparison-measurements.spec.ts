import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float16DoublingModel, refusedModel, standardFixtures } from '../../../test/fixtures/onnx-models';
import { measureLatencyPair } from './latency';
import { MemoryProbeError, measureSessionMemory } from './memory-probe';

describe('measureLatencyPair', () => {
  it('times both the same number of times, swapping which goes first every round', async () => {
    const calls: string[] = [];
    const { first, second } = await measureLatencyPair(
      async () => calls.push('a'),
      async () => calls.push('b'),
      { runs: 3, warmupRuns: 1 },
    );
    expect(calls.join('')).toBe('ab' + 'ab' + 'ba' + 'ab');
    for (const times of [first, second]) {
      expect(times.wallMs).toHaveLength(3);
      expect(times.cpuMs).toHaveLength(3);
    }
  });

  it('counts CPU time the run computed, not time it spent waiting', async () => {
    const busy = async () => {
      const until = performance.now() + 20;
      while (performance.now() < until);
    };
    const idle = () => new Promise((resolve) => setTimeout(resolve, 20));
    const { first, second } = await measureLatencyPair(busy, idle, { runs: 6, warmupRuns: 0 });
    // A loaded host may take the loop's core, so a 20 ms loop must get only a quarter of one at least once. The clock is
    // the process's, and its other threads (a collector, the test runner, what earlier suites in this worker left
    // running) compute during any run: in a CI run every one of six sleeps was charged 10 ms or more. So a sleep is
    // held to costing clearly less than the loop beside it in the same round, not to an absolute bound.
    expect(Math.max(...first.cpuMs)).toBeGreaterThan(5);
    expect(second.cpuMs.some((sleptMs, round) => sleptMs < first.cpuMs[round] - 5)).toBe(true);
    expect(Math.min(...second.wallMs)).toBeGreaterThanOrEqual(19);
  });
});

describe('measureSessionMemory', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gatehouse-probe-'));
    await writeFile(join(directory, 'model.onnx'), standardFixtures().classifier.model.bytes);
    await writeFile(join(directory, 'refused.onnx'), refusedModel().bytes);
    await writeFile(join(directory, 'half.onnx'), float16DoublingModel().bytes);
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));
  const inputs = [{ name: 'features', dtype: 'float32', shape: [1, 8] }];

  it('feeds float16 inputs, given as bits or filled in, on every node version', async () => {
    for (const input of [{ values: [0x3c00, 0xc000, 0x3800] }, {}]) {
      const measured = await measureSessionMemory(join(directory, 'half.onnx'), { inputs: [{ name: 'x', dtype: 'float16', shape: [1, 3], ...input }], runs: 1 });
      expect(measured.peakRssBytes).toBeGreaterThan(0);
    }
  });

  it('measures what loading and running a model takes in a fresh process', async () => {
    const measured = await measureSessionMemory(join(directory, 'model.onnx'), { inputs, runs: 2 });
    expect(measured.growthBytes).toBeGreaterThan(0);
    expect(measured.peakRssBytes).toBe(measured.rssBeforeBytes + measured.growthBytes);
  });

  it("reports onnxruntime's refusal, and stops when aborted", async () => {
    await expect(measureSessionMemory(join(directory, 'refused.onnx'), { inputs, runs: 1 })).rejects.toThrow(MemoryProbeError);
    await expect(measureSessionMemory(join(directory, 'refused.onnx'), { inputs, runs: 1 })).rejects.toThrow(/the memory probe failed: .*NoSuchOperator/);
    const controller = new AbortController();
    const probe = measureSessionMemory(join(directory, 'model.onnx'), { inputs, runs: 1_000_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('gate timed out')), 300);
    await expect(probe).rejects.toThrow('gate timed out');
  });
});
