import { Injectable } from '@nestjs/common';
import { ModelService } from '@gatehouse/catalog';
import { decodeCursor, keysetPage } from '@gatehouse/openapi';
import { TransactionRunner } from '@gatehouse/database';
import { DomainError } from '@gatehouse/errors';
import type { AlertList, AlertResponse, ListAlertsQuery } from '../dto/alert.dto';
import { AlertRepository, type AlertRow } from './alert.repository';

const DEFAULT_PAGE_SIZE = 20;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reading alerts; ProductionMonitor raises and resolves them. */
@Injectable()
export class AlertService {
  constructor(
    private readonly alerts: AlertRepository,
    private readonly models: ModelService,
    private readonly transactions: TransactionRunner,
  ) {}

  async list(query: ListAlertsQuery): Promise<AlertList> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.alerts.list(this.transactions.manager, {
      modelId: query.model === undefined ? undefined : await this.models.idOf(query.model),
      state: query.state,
      beforeSeq: query.cursor === undefined ? undefined : decodeCursor<number>(query.cursor, 'number'),
      limit: limit + 1,
    });
    return keysetPage(rows, limit, (row) => row.seq, alertResponse);
  }

  async get(id: string): Promise<AlertResponse> {
    const [row] = UUID.test(id) ? await this.alerts.find(this.transactions.manager, id) : [];
    if (!row) throw new DomainError('not_found', 'alert_not_found', `alert ${id} does not exist`);
    return alertResponse(row);
  }
}

function alertResponse(row: AlertRow): AlertResponse {
  return {
    id: row.id,
    model: row.model,
    version: row.version,
    rule: row.rule,
    metric: row.metric,
    severity: row.severity,
    state: row.state,
    value: row.value,
    threshold: row.threshold,
    samples: row.samples,
    evaluations: row.evaluations,
    raisedAt: new Date(row.raisedAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    resolvedAt: row.resolvedAt ? new Date(row.resolvedAt).toISOString() : null,
    rollback: row.rollback,
  };
}
