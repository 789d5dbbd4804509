import type { ApiClient } from './api-client';
import { until } from './wait';

const FINAL = ['completed', 'rejected'];

/**
 * Requests a promotion of `model@version` and waits for it to settle: its
 * gate, and where the stage asks for approvals, one from each approver.
 * Canary goes to 10% of traffic. Returns the promotion as it ended.
 */
export async function promoteAndSettle(
  requester: ApiClient,
  approvers: ApiClient[],
  ref: { model: string; version: string },
  stage: 'staging' | 'canary' | 'production',
  timeoutMs = 60_000,
): Promise<any> {
  const requested = await requester.post(`/v1/models/${ref.model}/versions/${ref.version}/promotions`, { stage, ...(stage === 'canary' ? { trafficPercent: 10 } : {}) });
  if (requested.status !== 202) throw new Error(`promoting ${ref.model}@${ref.version} to ${stage}: ${requested.status} ${JSON.stringify(requested.body)}`);
  const settled = (statuses: string[]) =>
    until(async () => {
      const promotion = (await requester.get(`/v1/promotions/${requested.body.id}`)).body;
      return statuses.includes(promotion.status) ? promotion : undefined;
    }, timeoutMs);
  const gated = await settled(['awaiting_approval', ...FINAL]);
  if (gated.status !== 'awaiting_approval') return gated;
  for (const approver of approvers) await approver.post(`/v1/promotions/${gated.id}/approvals`, { decision: 'approve' });
  return settled(FINAL);
}
