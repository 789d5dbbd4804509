import { Module } from '@nestjs/common';
import { CatalogModule } from '@gatehouse/catalog';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import { ArtifactWorkspace } from './artifact-workspace';
import { CanaryAnalysisRecords } from './canary-analysis-records';
import { GATE_CHECKS, GateEngine, GatePolicy } from '@gatehouse/gate-engine';
import { GatePolicyController } from './gate-policy.controller';
import { GatePolicyService } from './gate-policy.service';
import { GateRunFinished } from './gate-run-events';
import { GateRunRepository } from './gate-run.repository';
import { GATE_POLICY, GateRunService } from './gate-run.service';
import { GateRunsController } from './gate-runs.controller';
import { GATE_ENGINE, GateWorker } from './gate-worker';
import { RescanService } from './rescan.service';
import { ScanAllowanceService } from './scan-allowance.service';
import { ScanAllowancesController } from './scan-allowances.controller';

@Module({
  imports: [CatalogModule],
  controllers: [GateRunsController, ScanAllowancesController, GatePolicyController],
  providers: [
    // Loaded while the module is built: a bad policy file stops start-up, naming every problem.
    { provide: GATE_POLICY, inject: [APP_CONFIG], useFactory: (config: AppConfig) => GatePolicy.load(config.gates.policyFile, GATE_CHECKS) },
    { provide: GATE_ENGINE, useFactory: () => new GateEngine(GATE_CHECKS) },
    GateRunRepository,
    GateRunFinished,
    ArtifactWorkspace,
    GateWorker,
    GateRunService,
    RescanService,
    ScanAllowanceService,
    GatePolicyService,
    CanaryAnalysisRecords,
  ],
  exports: [GateRunService, GateRunFinished, CanaryAnalysisRecords],
})
export class GatesModule {}
