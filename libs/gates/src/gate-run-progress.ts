import type { GateProgress } from '@gatehouse/gate-engine';
import type { GateRunProgress } from './gate-run.entity';

/** How often, at most, a run's progress is written: checks may start many times a second, and whoever follows a run asks twice a second. */
export const PROGRESS_WRITE_INTERVAL_MS = 1000;

/**
 * Writes where a run is as its checks start: at once for the first, then at
 * most once an interval, always the latest (a check that starts while a write
 * waits replaces what it would have written), one write at a time. `write`
 * handles its own failures. `stop` drops what waits and resolves once the
 * write in flight is done, so nothing is written after it.
 */
export class GateRunProgressWriter {
  private waiting?: GateRunProgress;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private lastWriteAt = -Infinity;
  private stopped = false;

  constructor(
    private readonly write: (progress: GateRunProgress) => Promise<void>,
    private readonly intervalMs = PROGRESS_WRITE_INTERVAL_MS,
  ) {}

  hear(progress: GateProgress): void {
    if (this.stopped || progress.event !== 'started') return;
    this.waiting = { check: progress.check, checksDone: progress.index, checksTotal: progress.total, checkStartedAt: new Date().toISOString() };
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastWriteAt + this.intervalMs - Date.now()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.writing;
  }

  private flush(): void {
    this.timer = undefined;
    const progress = this.waiting!;
    this.waiting = undefined;
    this.lastWriteAt = Date.now();
    this.writing = this.writing.then(() => this.write(progress));
  }
}
