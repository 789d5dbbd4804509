import type { GateProgress } from '@gatehouse/gate-engine';
import type { GateRunProgress } from './gate-run.entity';
import { GateRunProgressWriter } from './gate-run-progress';

const started = (check: string, index: number): GateProgress => ({ event: 'started', check, index, total: 4 });

describe('GateRunProgressWriter', () => {
  let written: GateRunProgress[];
  let writer: GateRunProgressWriter;
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-12-03T08:00:00Z') });
    written = [];
    writer = new GateRunProgressWriter(async (progress) => void written.push(progress), 1000);
  });
  afterEach(() => jest.useRealTimers());

  it('writes the first check at once, then the latest of those that start within the interval, once', async () => {
    writer.hear(started('files_intact', 0));
    await jest.advanceTimersByTimeAsync(0);
    expect(written).toEqual([{ check: 'files_intact', checksDone: 0, checksTotal: 4, checkStartedAt: '2026-12-03T08:00:00.000Z' }]);

    await jest.advanceTimersByTimeAsync(100);
    writer.hear(started('onnx_parses', 1));
    writer.hear({ event: 'finished', check: 'onnx_parses', index: 1, total: 4, result: {} as never });
    await jest.advanceTimersByTimeAsync(100);
    writer.hear(started('model_loads', 2));
    await jest.advanceTimersByTimeAsync(799);
    expect(written).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(written.map((progress) => [progress.check, progress.checksDone])).toEqual([
      ['files_intact', 0],
      ['model_loads', 2],
    ]);
  });

  it('writes nothing once stopped, and stop waits for the write in flight', async () => {
    let finishWrite!: () => void;
    const slow = new GateRunProgressWriter(
      (progress) =>
        new Promise<void>((resolve) => {
          written.push(progress);
          finishWrite = resolve;
        }),
      1000,
    );
    slow.hear(started('files_intact', 0));
    await jest.advanceTimersByTimeAsync(0);
    slow.hear(started('onnx_parses', 1));
    let stopped = false;
    const stopping = slow.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(5000);
    expect(stopped).toBe(false);
    finishWrite();
    await stopping;
    slow.hear(started('model_loads', 2));
    await jest.advanceTimersByTimeAsync(5000);
    expect(written.map((progress) => progress.check)).toEqual(['files_intact']);
  });
});
