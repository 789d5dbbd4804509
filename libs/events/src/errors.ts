import { DomainError } from '@gatehouse/errors';
import { EVENT_PATTERNS_HELP } from './lifecycle-events';

export class WebhookNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'webhook_not_found', `webhook ${id} does not exist (GET /v1/webhooks lists them)`);
  }
}

export class WebhookDeliveryNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'webhook_delivery_not_found', `webhook delivery ${id} does not exist (GET /v1/webhooks/{id}/deliveries lists a webhook's)`);
  }
}

/** events[] named something no lifecycle event is, or will be: a typo would otherwise subscribe to nothing, silently. */
export class UnknownWebhookEventError extends DomainError {
  constructor(unknown: string[]) {
    const quoted = unknown.map((pattern) => JSON.stringify(pattern)).join(', ');
    super('invalid', 'unknown_webhook_event', `events: ${quoted} ${unknown.length === 1 ? 'is not an event' : 'are not events'}; use ${EVENT_PATTERNS_HELP}`, {
      fields: [{ field: 'events', errors: [`unknown: ${quoted}`] }],
      unknown,
    });
  }
}

/** Replay sends a finished delivery again; a pending one is still being tried. */
export class WebhookDeliveryPendingError extends DomainError {
  constructor(id: string, nextAttemptAt: Date) {
    super(
      'conflict',
      'webhook_delivery_pending',
      `webhook delivery ${id} is still pending (next attempt at ${nextAttemptAt.toISOString()}); only dead or delivered deliveries can be replayed`,
      {
        nextAttemptAt: nextAttemptAt.toISOString(),
      },
    );
  }
}
