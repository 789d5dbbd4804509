import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ProgressBar } from './progress';

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
