export { GatesModule } from './gates.module';
export { GateRunService, type GateRequest } from './gate-run.service';
export { GateRunFinished, type FinishedGateRun } from './gate-run-events';
export { GateRunEntity, type GateRunStatus, type GateRunTrigger } from './gate-run.entity';
export * from './errors';
export { RecentQuery } from './dto/gate-run.dto';
