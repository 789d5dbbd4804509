import { Transform, type TransformCallback } from 'node:stream';
import type { Writable } from 'node:stream';
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
