import type { Writable } from 'node:stream';
import type { CheckResult, GateProgress, StagePolicy } from '@gatehouse/gate-engine';
import type { ValidateListener } from './offline-gate';
import { formatElapsed } from './progress';

/**
 * What `gatehouse validate` tells on stderr while its gate runs, so a long run
 * never looks hung: a line as it starts; on a terminal, the check running and
 * the time so far, redrawn in place; with `verbose`, a line per check as it
 * finishes, which is what a CI log keeps.
 */
export class ValidateProgress implements ValidateListener {
  private startedAt = 0;
  private running?: Extract<GateProgress, { event: 'started' }>;
  private timer?: NodeJS.Timeout;
  private drawn = false;

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly target: string,
    private readonly verbose: boolean,
  ) {}

  starting(policy: StagePolicy): void {
    this.startedAt = Date.now();
    const { timeoutSeconds, memoryLimitMiB } = policy.settings;
    this.out.write(
      `validating ${this.target}: the ${policy.stage} gate for a ${policy.task} model, ${policy.checks.length} checks, in a sandbox (${memoryLimitMiB} MiB, at most ${timeoutSeconds} s)\n`,
    );
    if (this.out.isTTY) this.timer = setInterval(() => this.draw(), 1000).unref();
  }

  progress(progress: GateProgress): void {
    if (progress.event === 'started') {
      this.running = progress;
      this.draw();
      return;
    }
    this.running = undefined;
    if (!this.verbose) return;
    this.clear();
    this.out.write(`${position(progress)} ${progress.check}: ${outcome(progress.result)} in ${seconds(progress.result.durationMs)}: ${progress.result.message}\n`);
  }

  /** Stops the clock and clears the line in place; the report follows. */
  finish(): void {
    clearInterval(this.timer);
    this.clear();
  }

  private draw(): void {
    if (!this.out.isTTY || !this.running) return;
    this.out.write(`\r\x1b[K${position(this.running)} ${this.running.check}… ${formatElapsed(Date.now() - this.startedAt)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (!this.drawn) return;
    this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}

function position({ index, total }: { index: number; total: number }): string {
  return `[${String(index + 1).padStart(String(total).length)}/${total}]`;
}

function outcome(result: CheckResult): string {
  return result.blockedBy ? `blocked by ${result.blockedBy}` : result.status;
}

/** A check's duration: finer than the run's elapsed time, since most checks take well under a second. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
