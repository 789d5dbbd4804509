import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { ServingStage } from '@gatehouse/catalog';
import type { GateRunStatus } from '@gatehouse/gates';
import type { PriorDecision, PromotionStatus, Role } from './promotion-rules';

export interface PromotionOutcome {
  code: string;
  message: string;
  failedChecks?: string[];
}

export interface PromotionRow {
  id: string;
  modelId: string;
  model: string;
  versionId: string;
  version: string;
  stage: ServingStage;
  trafficPercent: number | null;
  reason: string | null;
  status: PromotionStatus;
  requestedBy: string;
  requestedByToken: string;
  requiredApprovals: number;
  approverRoles: Role[];
  gateRunId: string | null;
  /** The status of the run at gateRunId, joined in so that a page of requests needs no query per request. */
  gateRunStatus: GateRunStatus | null;
  gateRuns: string[];
  expectedStageVersionId: string | null;
  expectedProductionVersionId: string | null;
  outcome: PromotionOutcome | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

export interface DecisionRow extends PriorDecision {
  comment: string | null;
}

export interface PromotionPageRow extends PromotionRow {
  seq: number;
}

export interface Expectation {
  expectedStageVersionId: string | null;
  expectedProductionVersionId: string | null;
}

const COLUMNS = `p.id, p.model_id AS "modelId", m.name AS model, p.version_id AS "versionId", v.version, p.stage,
  p.traffic_percent AS "trafficPercent", p.reason, p.status, p.requested_by AS "requestedBy", p.requested_by_token AS "requestedByToken",
  p.required_approvals AS "requiredApprovals", p.approver_roles AS "approverRoles", p.gate_run_id AS "gateRunId", g.status AS "gateRunStatus", p.gate_runs AS "gateRuns",
  p.expected_stage_version_id AS "expectedStageVersionId", p.expected_production_version_id AS "expectedProductionVersionId",
  p.outcome, p.created_at AS "createdAt", p.updated_at AS "updatedAt", p.completed_at AS "completedAt"`;
const DECISION_COLUMNS = 'token_id AS "tokenId", actor, decision, comment, decided_at AS "decidedAt"';
const FROM = 'promotions p JOIN models m ON m.id = p.model_id JOIN model_versions v ON v.id = p.version_id LEFT JOIN gate_runs g ON g.id = p.gate_run_id';

@Injectable()
export class PromotionRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(
    tx: EntityManager,
    row: Pick<PromotionRow, 'modelId' | 'versionId' | 'stage' | 'trafficPercent' | 'reason' | 'requestedBy' | 'requestedByToken' | 'requiredApprovals' | 'approverRoles'>,
  ): Promise<string> {
    const [{ id }] = await tx.query<{ id: string }[]>(
      `INSERT INTO promotions (model_id, version_id, stage, traffic_percent, reason, status, requested_by, requested_by_token, required_approvals, approver_roles)
       VALUES ($1, $2, $3, $4, $5, 'gating', $6, $7, $8, $9) RETURNING id`,
      [row.modelId, row.versionId, row.stage, row.trafficPercent, row.reason, row.requestedBy, row.requestedByToken, row.requiredApprovals, row.approverRoles],
    );
    return id;
  }

  /** The open request for a model's stage, if any. Callers hold the model's lock, so the answer stays true until they commit. */
  async openFor(tx: EntityManager, modelId: string, stage: ServingStage): Promise<string | undefined> {
    const [row] = await tx.query<{ id: string }[]>(`SELECT id FROM promotions WHERE model_id = $1 AND stage = $2 AND status IN ('gating','awaiting_approval')`, [modelId, stage]);
    return row?.id;
  }

  async find(id: string, tx: EntityManager = this.dataSource.manager, lock = false): Promise<PromotionRow | undefined> {
    const [row] = await tx.query<PromotionRow[]>(`SELECT ${COLUMNS} FROM ${FROM} WHERE p.id = $1${lock ? ' FOR UPDATE OF p' : ''}`, [id]);
    return row;
  }

  async findByGateRun(tx: EntityManager, gateRunId: string): Promise<PromotionRow | undefined> {
    const [row] = await tx.query<PromotionRow[]>(`SELECT ${COLUMNS} FROM ${FROM} WHERE p.gate_run_id = $1 FOR UPDATE OF p`, [gateRunId]);
    return row;
  }

  /** Newest first, keyset-paginated by seq. */
  async listForVersion(versionId: string, limit: number, beforeSeq?: number): Promise<PromotionPageRow[]> {
    const rows = await this.dataSource.query<(PromotionRow & { seq: string })[]>(
      `SELECT ${COLUMNS}, p.seq FROM ${FROM} WHERE p.version_id = $1 AND ($3::bigint IS NULL OR p.seq < $3) ORDER BY p.seq DESC LIMIT $2`,
      [versionId, limit, beforeSeq ?? null],
    );
    return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
  }

  /** Points the request at a (new) gate run and the state that run is judged against. */
  async gateWith(tx: EntityManager, id: string, gateRunId: string, expectation: Expectation): Promise<void> {
    await tx.query(
      `UPDATE promotions SET status = 'gating', gate_run_id = $2, gate_runs = array_append(gate_runs, $2::uuid),
              expected_stage_version_id = $3, expected_production_version_id = $4, updated_at = now()
        WHERE id = $1`,
      [id, gateRunId, expectation.expectedStageVersionId, expectation.expectedProductionVersionId],
    );
  }

  async setStatus(tx: EntityManager, id: string, status: PromotionStatus, outcome: PromotionOutcome | null = null): Promise<void> {
    const final = status === 'completed' || status === 'rejected';
    await tx.query(`UPDATE promotions SET status = $2, outcome = COALESCE($3, outcome), updated_at = now()${final ? ', completed_at = now()' : ''} WHERE id = $1`, [
      id,
      status,
      outcome ? JSON.stringify(outcome) : null,
    ]);
  }

  /** Records a decision. Callers hold the promotion's row lock and have checked the token has not decided; the primary key backs that check. */
  async decide(tx: EntityManager, id: string, decision: Omit<DecisionRow, 'decidedAt'>): Promise<void> {
    await tx.query(`INSERT INTO promotion_decisions (promotion_id, token_id, actor, decision, comment) VALUES ($1, $2, $3, $4, $5)`, [
      id,
      decision.tokenId,
      decision.actor,
      decision.decision,
      decision.comment,
    ]);
  }

  decisions(id: string, tx: EntityManager = this.dataSource.manager): Promise<DecisionRow[]> {
    return tx.query(`SELECT ${DECISION_COLUMNS} FROM promotion_decisions WHERE promotion_id = $1 ORDER BY decided_at, actor`, [id]);
  }

  /** The decisions on each of `ids`, in one query for a whole page of requests. */
  async decisionsOf(ids: string[]): Promise<Map<string, DecisionRow[]>> {
    const rows = await this.dataSource.query<(DecisionRow & { promotionId: string })[]>(
      `SELECT promotion_id AS "promotionId", ${DECISION_COLUMNS} FROM promotion_decisions WHERE promotion_id = ANY($1::uuid[]) ORDER BY decided_at, actor`,
      [ids],
    );
    const byPromotion = new Map<string, DecisionRow[]>(ids.map((id) => [id, []]));
    for (const { promotionId, ...decision } of rows) byPromotion.get(promotionId)!.push(decision);
    return byPromotion;
  }
}
