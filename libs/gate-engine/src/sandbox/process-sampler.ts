import { readFile } from 'node:fs/promises';

/** What /proc showed of a process while it ran. */
export interface ProcessUsage {
  /** The kernel's high-water mark of its resident set (VmHWM) at the last sample. */
  peakRssBytes: number;
  /** Its resident set at the first sample, soon after it started. */
  firstRssBytes: number;
  /** The most private writable memory (VmData, what RLIMIT_DATA counts) any sample saw. */
  peakDataBytes: number;
  /** Its user and system time, all threads, at the last sample. */
  cpuTimeMs: number;
}

const SAMPLE_INTERVAL_MS = 200;
/** /proc/<pid>/stat counts CPU time in USER_HZ ticks, 100 a second on every architecture Linux exposes to user space alike. */
const TICK_MS = 10;

/**
 * Samples another process's peak RSS and CPU time from /proc while it runs:
 * what the sandbox reports of a child that was killed and so never gave its
 * own account. A process that is gone leaves the last sample standing.
 */
export class ProcessSampler {
  private readonly usage: ProcessUsage = { peakRssBytes: 0, firstRssBytes: 0, peakDataBytes: 0, cpuTimeMs: 0 };
  private readonly timer: NodeJS.Timeout;
  private sampling: Promise<void> = Promise.resolve();

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.sample();
  }

  /** Stops sampling; resolves to the last figures once a sample in flight is done. */
  async stop(): Promise<ProcessUsage> {
    clearInterval(this.timer);
    await this.sampling;
    return { ...this.usage };
  }

  private sample(): void {
    this.sampling = this.sampling.then(() => this.read());
  }

  private async read(): Promise<void> {
    const [status, stat] = await Promise.all([
      readFile(`/proc/${this.pid}/status`, 'utf8').catch(() => undefined),
      readFile(`/proc/${this.pid}/stat`, 'utf8').catch(() => undefined),
    ]);
    if (status) {
      const kibibytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
      this.usage.peakRssBytes = Math.max(this.usage.peakRssBytes, kibibytes('VmHWM') * 1024);
      this.usage.firstRssBytes ||= kibibytes('VmRSS') * 1024;
      this.usage.peakDataBytes = Math.max(this.usage.peakDataBytes, kibibytes('VmData') * 1024);
    }
    if (stat) {
      // The fields after the command name, which is in parentheses and may hold spaces: state is the first, utime the 12th, stime the 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (Number.isFinite(ticks)) this.usage.cpuTimeMs = Math.max(this.usage.cpuTimeMs, ticks * TICK_MS);
    }
  }
}
