import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { AnalysisService } from './analysis.service';

/**
 * Each replica looks for analysis intervals to judge every ANALYSIS_POLL_MS;
 * the service's model lock makes one of them judge each interval.
 */
@Injectable()
export class AnalysisScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AnalysisScheduler');
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly analysis: AnalysisService,
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
      this.current = this.analysis
        .judgeDue()
        .then(
          () => undefined,
          (error: Error) => this.logger.warn(`judging canary analyses failed, trying again: ${error.message}`),
        )
        .finally(() => this.schedule());
    }, this.config.monitoring.pollMs);
  }
}
