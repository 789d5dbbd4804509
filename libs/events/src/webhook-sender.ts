import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@gatehouse/config';
import type { ClaimedDelivery } from './outbox.repository';
import type { DeliveryAttempt } from './webhook.entities';
import { signatureHeader } from './webhook-signature';

/** The attempt and whether the receiver took it (answered 2xx). */
export interface SentAttempt {
  delivered: boolean;
  attempt: DeliveryAttempt;
}

/** What receivers get: the body every delivery of an event carries, byte for byte the same on every attempt. */
function webhookBody(event: ClaimedDelivery['event']): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    occurredAt: event.occurredAt.toISOString(),
    actor: event.actor,
    subject: event.subject,
    data: event.data,
    auditSeq: event.auditSeq,
  });
}

/** POSTs one delivery, signed, and says how it went; it never throws, every failure is an attempt's outcome. */
@Injectable()
export class WebhookSender {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async send(delivery: ClaimedDelivery): Promise<SentAttempt> {
    const body = webhookBody(delivery.event);
    const attemptedAt = new Date();
    const started = performance.now();
    const finished = (statusCode: number | null, error: string | null): SentAttempt => ({
      delivered: error === null,
      attempt: { attemptedAt: attemptedAt.toISOString(), durationMs: Math.round(performance.now() - started), statusCode, error },
    });
    const timeoutMs = this.config.webhooks.timeoutMs;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Gatehouse-Webhooks/1',
          'gatehouse-event': delivery.event.type,
          'gatehouse-event-id': delivery.event.id,
          'gatehouse-delivery': delivery.id,
          'gatehouse-signature': signatureHeader(delivery.secret, body, Math.floor(attemptedAt.getTime() / 1000)),
        },
        body,
        // A redirect is not a receipt; following it would post the signed body somewhere the subscription never named.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Only the status matters: the body is dropped unread, however large.
      await response.body?.cancel();
      return finished(response.status, response.status >= 200 && response.status < 300 ? null : `the receiver answered ${response.status}`);
    } catch (error) {
      return finished(null, failureOf(error as Error, timeoutMs));
    }
  }
}

function failureOf(error: Error, timeoutMs: number): string {
  if (error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // fetch reports every network failure as "fetch failed" and the reason as its cause.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `${cause.code}: ${cause.message ?? error.message}` : (cause?.message ?? error.message);
}
