import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { ProductionMonitor } from './alerts/production-monitor';
import { AnalysisService } from './analysis/analysis.service';

/**
 * Each replica looks every ANALYSIS_POLL_MS for canary intervals to judge,
 * production alert rules to evaluate and gradual rollbacks to move along;
 * the model lock behind each decision makes one replica take it.
 */
@Injectable()
export class MonitoringScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MonitoringScheduler');
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly analysis: AnalysisService,
    private readonly production: ProductionMonitor,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.current = this.tick().finally(() => this.schedule());
    }, this.config.monitoring.pollMs);
  }

  private async tick(): Promise<void> {
    for (const [what, work] of [
      ['judging canary analyses', () => this.analysis.judgeDue()],
      ['evaluating production alert rules', () => this.production.evaluateDue()],
      ['moving gradual rollbacks', () => this.production.shiftDue()],
    ] as const) {
      try {
        await work();
      } catch (error) {
        this.logger.warn(`${what} failed, trying again: ${(error as Error).message}`);
      }
    }
  }
}
