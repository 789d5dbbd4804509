export { GatesModule } from './gates.module';
export { GateRunService, type GateRequest } from './gate-run.service';
export { GateRunEntity, type GateRunStatus, type GateRunTrigger } from './gate-run.entity';
export * from './errors';
export * from './engine';
