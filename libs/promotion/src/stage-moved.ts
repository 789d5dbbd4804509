import { Injectable } from '@nestjs/common';
import type { ServingStage, StageAction } from '@gatehouse/catalog';
import { TransactionalEvent } from '@gatehouse/database';

export interface MovedStage {
  modelId: string;
  versionId: string;
  stage: ServingStage;
  /** promoted or restored to `stage`; replaced at it by another version; rolled_back or canary_aborted from it. */
  action: StageAction;
  trafficPercent: number | null;
  actor: string;
}

/** Published in the transaction of every stage move, under the model's lock: libs above promotion (monitoring) follow the pointers atomically. */
@Injectable()
export class StageMoved extends TransactionalEvent<MovedStage> {}
