import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeGateProgress, formatElapsed, GateProgressLine, ProgressBar, type FollowedGateRun } from './progress';

function terminal(isTTY: boolean): { stream: PassThrough & { isTTY: boolean }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

async function send(bar: ProgressBar, label: string, bytes: number): Promise<void> {
  const tracked = bar.track(label);
  tracked.resume();
  await pipeline(async function* () {
    yield Buffer.alloc(bytes);
  }, tracked);
  bar.fileDone(label, bytes);
}

describe('ProgressBar', () => {
  it('prints one line per file when stderr is not a terminal', async () => {
    const out = terminal(false);
    const bar = new ProgressBar(out.stream, 3072);
    await send(bar, 'a.bin', 1024);
    bar.skip('b.bin', 1024);
    await send(bar, 'c.bin', 1024);
    bar.finish();
    expect(out.text()).toBe('uploaded a.bin (1.0 KiB)\nalready uploaded b.bin (1.0 KiB)\nuploaded c.bin (1.0 KiB)\n');
  });

  it('redraws one line in place on a terminal, counting bytes against the total', async () => {
    const out = terminal(true);
    const bar = new ProgressBar(out.stream, 2048);
    await send(bar, 'a.bin', 1024);
    await send(bar, 'b.bin', 1024);
    bar.finish();
    const frames = out.text().split('\r').filter(Boolean);
    expect(frames.at(-1)).toMatch(/^\[#{30}\] 100% 2\.0 KiB\/2\.0 KiB .*\/s b\.bin\x1b\[K\n$/);
    expect(out.text()).not.toContain('uploaded');
  });
});

describe('gate progress', () => {
  const inCheck = (check: string, checksDone: number): FollowedGateRun => ({
    stage: 'registered',
    status: 'running',
    progress: { check, checksDone, checksTotal: 17, checkStartedAt: '2026-12-03T08:00:00.000Z' },
  });

  it('names the check running and its place, or the status while none is', () => {
    expect(describeGateProgress('fraud@1.2.0', inCheck('model_loads', 6), 12_400)).toBe('registered gate on fraud@1.2.0: running model_loads (check 7 of 17), 12s');
    expect(describeGateProgress('fraud@1.2.0', { stage: 'staging', status: 'queued', progress: null }, 0)).toBe('staging gate on fraud@1.2.0: queued, 0s');
  });

  it('gives the elapsed time in the largest units that matter', () => {
    expect([999, 59_999, 60_000, 125_000, 3_599_999, 3_720_000].map(formatElapsed)).toEqual(['0s', '59s', '1m 00s', '2m 05s', '59m 59s', '1h 02m']);
  });

  describe('as the clock goes', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('prints a line when the run moves on, and every 15 s while it stays, when stderr is not a terminal', () => {
      const out = terminal(false);
      const line = new GateProgressLine(out.stream, 'fraud@1.2.0');
      line.show({ stage: 'registered', status: 'queued', progress: null });
      jest.advanceTimersByTime(500);
      line.show({ stage: 'registered', status: 'queued', progress: null });
      jest.advanceTimersByTime(1500);
      line.show(inCheck('model_loads', 6));
      jest.advanceTimersByTime(14_000);
      line.show(inCheck('model_loads', 6));
      jest.advanceTimersByTime(1000);
      line.show(inCheck('model_loads', 6));
      line.show(inCheck('latency', 16));
      line.finish();
      expect(out.text().split('\n')).toEqual([
        'registered gate on fraud@1.2.0: queued, 0s',
        'registered gate on fraud@1.2.0: running model_loads (check 7 of 17), 2s',
        'registered gate on fraud@1.2.0: running model_loads (check 7 of 17), 17s',
        'registered gate on fraud@1.2.0: running latency (check 17 of 17), 17s',
        '',
      ]);
    });

    it('redraws one line on a terminal at every poll and clears it when done', () => {
      const out = terminal(true);
      const line = new GateProgressLine(out.stream, 'fraud@1.2.0');
      line.show(inCheck('model_loads', 6));
      line.show(inCheck('model_loads', 6));
      line.finish();
      expect(out.text()).toBe(`${'\rregistered gate on fraud@1.2.0: running model_loads (check 7 of 17), 0s\x1b[K'.repeat(2)}\r\x1b[K`);
    });
  });
});
