import { Transform, type TransformCallback } from 'node:stream';
import type { Writable } from 'node:stream';
import type { GateRun } from './api-types';
import { formatBytes } from './output';

/**
 * Upload progress on stderr: redrawn in place on a terminal, a line per
 * finished file otherwise, so logs of CI runs stay readable.
 */
export class ProgressBar {
  private done = 0;
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private total: number,
  ) {}

  /** A pass-through stream that advances the bar as bytes flow. */
  track(label: string): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        this.advance(label, chunk.length);
        callback(null, chunk);
      },
    });
  }

  fileDone(label: string, size: number): void {
    if (this.out.isTTY) this.draw(label, true);
    else this.out.write(`uploaded ${label} (${formatBytes(size)})\n`);
  }

  /** A file an earlier attempt already uploaded: reported, and no longer counted. */
  skip(label: string, size: number): void {
    this.total -= size;
    this.out.write(`${this.out.isTTY ? '\r\x1b[K' : ''}already uploaded ${label} (${formatBytes(size)})\n`);
  }

  finish(): void {
    if (this.out.isTTY) this.out.write('\n');
  }

  private advance(label: string, bytes: number): void {
    this.done += bytes;
    if (this.out.isTTY) this.draw(label, false);
  }

  private draw(label: string, force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const fraction = this.total === 0 ? 1 : this.done / this.total;
    const width = 30;
    const filled = Math.round(fraction * width);
    const rate = this.done / Math.max((now - this.started) / 1000, 0.001);
    this.out.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
        `${formatBytes(this.done)}/${formatBytes(this.total)} ${formatBytes(rate)}/s ${label}\x1b[K`,
    );
  }
}

/** How often, at most, a gate's progress is printed as a new line when stderr is not a terminal. */
const PLAIN_LINE_INTERVAL_MS = 15_000;

/** What a gate run's progress line shows of it. */
export type FollowedGateRun = Pick<GateRun, 'stage' | 'status' | 'progress'>;

/** `registered gate on fraud@1.2.0: running model_loads (check 7 of 17), 12s`. */
export function describeGateProgress(ref: string, run: FollowedGateRun, elapsedMs: number): string {
  const step = run.status === 'running' && run.progress ? `running ${run.progress.check} (check ${run.progress.checksDone + 1} of ${run.progress.checksTotal})` : run.status;
  return `${run.stage} gate on ${ref}: ${step}, ${formatElapsed(elapsedMs)}`;
}

/** `4s`, `2m 05s`, `1h 02m`. */
export function formatElapsed(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * A followed gate run's progress on stderr: one line redrawn in place on a
 * terminal, else a line when the run moves to another check, and every 15 s
 * while it stays, so a CI log shows it is alive without filling up.
 */
export class GateProgressLine {
  private readonly started = Date.now();
  private lastStep?: string;
  private lastLineAt = 0;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly ref: string,
  ) {}

  show(run: FollowedGateRun): void {
    const now = Date.now();
    const line = describeGateProgress(this.ref, run, now - this.started);
    if (this.out.isTTY) {
      this.out.write(`\r${line}\x1b[K`);
      return;
    }
    const step = `${run.status} ${run.progress?.check ?? ''}`;
    if (step === this.lastStep && now - this.lastLineAt < PLAIN_LINE_INTERVAL_MS) return;
    this.lastStep = step;
    this.lastLineAt = now;
    this.out.write(`${line}\n`);
  }

  /** Clears the redrawn line, so what follows starts on a clean one. */
  finish(): void {
    if (this.out.isTTY) this.out.write('\r\x1b[K');
  }
}
