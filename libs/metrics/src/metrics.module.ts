import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/** One {@link MetricsService} per application, for every lib to count what happens in it. */
@Global()
@Module({
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
