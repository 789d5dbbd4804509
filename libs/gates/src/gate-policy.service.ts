import { basename } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { GatePolicy, GateStage, Task } from '@gatehouse/gate-engine';
import type { GatePolicyResponse, GatePolicyStageResponse } from './dto/gate-policy.dto';
import { UnknownStageError } from './errors';
import { GATE_POLICY } from './gate-run.service';

/** The gate policy in force, as gates run it: each stage with its extends applied. */
@Injectable()
export class GatePolicyService {
  constructor(@Inject(GATE_POLICY) private readonly policy: GatePolicy) {}

  show(query: { stage?: GateStage; task?: Task }): GatePolicyResponse {
    const task = query.task ?? 'classification';
    const stages = this.policy.stageNames;
    if (query.stage && !stages.includes(query.stage)) throw new UnknownStageError(query.stage, stages);
    return {
      // The file's name only: any token may read this, and the server's directory layout is none of its business.
      source: basename(this.policy.source),
      stages: (query.stage ? [query.stage] : stages).map((stage) => this.map(stage, task)),
    };
  }

  private map(stage: GateStage, task: Task): GatePolicyStageResponse {
    const { settings, checks } = this.policy.resolve(stage, task);
    return { stage, extends: this.policy.parentOf(stage), task, settings, checks: checks.map(({ id, severity, thresholds }) => ({ id, severity, thresholds })) };
  }
}
