import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { GATE_STAGES, type GateReport, type GateStage } from '@gatehouse/gate-engine';
import { GATE_RUN_TRIGGERS, type GateRunError, type GateRunStatus, type GateRunTrigger } from '../gate-run.entity';

export class RequestGateRunDto {
  @ApiProperty({
    enum: GATE_STAGES,
    description: "Whose policy to run: registered re-runs the registration gate and updates the version's status (only while it serves at no stage)",
  })
  @IsIn(GATE_STAGES)
  stage: GateStage;
}

export class GateRunLinks {
  @ApiProperty() self: string;
  @ApiProperty() markdown: string;
}

export class GateRunProgressResponse {
  @ApiProperty({ description: 'The check the run is in' }) check: string;
  @ApiProperty({ description: 'Checks finished before it' }) checksDone: number;
  @ApiProperty() checksTotal: number;
  @ApiProperty({ description: 'When the check started' }) checkStartedAt: string;
}

export class GateRunResponse {
  @ApiProperty() id: string;
  @ApiProperty() model: string;
  @ApiProperty() version: string;
  @ApiProperty({ enum: GATE_STAGES }) stage: GateStage;
  @ApiProperty({ enum: GATE_RUN_TRIGGERS, description: 'rescan: the artifact scan alone, re-run because the scanner or its policy changed' }) trigger: GateRunTrigger;
  @ApiProperty({ enum: ['queued', 'running', 'passed', 'failed', 'error'] }) status: GateRunStatus;
  @ApiProperty() requestedBy: string;
  @ApiProperty({ description: 'Tries so far; infrastructure failures are retried up to maxAttempts' }) attempts: number;
  @ApiProperty() maxAttempts: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description:
      '(passed + 0.5 × warnings) / counted checks × 100: every check counts but those skipped because they do not apply; a check blocked by a failed prerequisite counts as failed. Null until the run finishes',
  })
  healthScore: number | null;
  @ApiProperty({
    type: [String],
    description: 'The reasons the gate refused: critical checks that failed or errored, and any check whose failure kept a critical one from running',
  })
  failedChecks: string[];
  @ApiProperty({ type: [String], description: "Checks that did not run because a check they need did not pass (each result's blockedBy names the root cause)" })
  blockedChecks: string[];
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, description: 'The last infrastructure error or timeout' }) lastError: GateRunError | null;
  @ApiProperty({
    type: GateRunProgressResponse,
    nullable: true,
    description: 'While the run is running: the check it is in, recorded as checks start, at most once a second; null otherwise',
  })
  progress: GateRunProgressResponse | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ nullable: true, type: String }) startedAt: string | null;
  @ApiProperty({ nullable: true, type: String }) finishedAt: string | null;
  @ApiProperty({ type: GateRunLinks }) links: GateRunLinks;
}

export class GateRunDetailResponse extends GateRunResponse {
  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description:
      'GateReport: verdict, healthScore, summary (counts by status; blocked: skipped by a failed prerequisite), failedChecks, blockedChecks, recommendations (refusing checks first, each distinct advice once), results (each with status, value, threshold, message, details, recommendation, blockedBy), resources',
  })
  report: GateReport | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The policy snapshot the run executes' }) policy: unknown;
}

export class GateRunList {
  @ApiProperty({ type: [GateRunResponse] }) items: GateRunResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page; null on the last' }) nextCursor: string | null;
}
