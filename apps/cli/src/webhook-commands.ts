import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { ExitError, type CommandContext } from './command-context';
import { apiPath } from './gatehouse-client';
import { formatFields, formatTable } from './output';
import { collect } from './references';

interface Webhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  active: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

interface DeliveryAttempt {
  attemptedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

interface WebhookDelivery {
  id: string;
  webhookId: string;
  status: 'pending' | 'delivered' | 'dead';
  attempts: DeliveryAttempt[];
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  event: { id: string; type: string; occurredAt: string; subject: string; auditSeq: number | null };
}

interface WebhookTest {
  delivered: boolean;
  attempt: DeliveryAttempt;
  delivery: WebhookDelivery;
}

const attemptOutcome = (attempt: DeliveryAttempt | undefined) => (attempt ? (attempt.error ?? `${attempt.statusCode}`) : null);

/** webhooks add, list, show, rm, deliveries, replay and test: signed deliveries of lifecycle events (admin). */
export function addWebhookCommands(program: Command, { client, print }: CommandContext): void {
  const webhooks = program.command('webhooks').description('webhook subscriptions to lifecycle events, their deliveries and dead letters (admin)');
  webhooks
    .command('add')
    .description('subscribe URL to events; without --secret one is generated and shown only now')
    .argument('<url>')
    .requiredOption('--event <pattern>', 'an event (version.committed), a family (gate.*) or * (repeatable)', collect, [])
    .option('--secret <secret>', 'the signing key, at least 16 characters')
    .option('--description <text>')
    .action(async (url: string, options: { event: string[]; secret?: string; description?: string }) => {
      // 32 random bytes: as strong a key as HMAC-SHA256 takes.
      const secret = options.secret ?? `whsec_${randomBytes(32).toString('base64url')}`;
      const created = await (await client()).post<Webhook>('/v1/webhooks', { url, events: options.event, secret, description: options.description }, { events: '--event' });
      print({ ...created, ...(options.secret ? {} : { secret }) }, () =>
        [`created webhook ${created.id} → ${created.url} (${created.events.join(', ')})\n`, options.secret ? '' : `its signing secret is shown only now:\n${secret}\n`].join(''),
      );
    });
  webhooks.command('list').action(async () => {
    const list = await (await client()).get<Webhook[]>('/v1/webhooks');
    print(list, () =>
      formatTable(
        ['ID', 'URL', 'EVENTS', 'ACTIVE', 'DESCRIPTION'],
        list.map((w) => [w.id, w.url, w.events.join(','), w.active ? 'yes' : 'no', w.description]),
      ),
    );
  });
  webhooks
    .command('show')
    .argument('<id>')
    .action(async (id: string) => {
      const webhook = await (await client()).get<Webhook>(`/v1/webhooks/${apiPath(id)}`);
      print(webhook, () =>
        formatFields([
          ['id', webhook.id],
          ['url', webhook.url],
          ['events', webhook.events.join(', ')],
          ['active', webhook.active ? 'yes' : 'no'],
          ['description', webhook.description],
          ['created', `${webhook.createdAt} by ${webhook.createdBy}`],
          ['updated', webhook.updatedAt],
        ]),
      );
    });
  webhooks
    .command('rm')
    .description('delete a subscription and its delivery history')
    .argument('<id>')
    .action(async (id: string) => {
      const removed = await (await client()).delete<Webhook>(`/v1/webhooks/${apiPath(id)}`);
      print(removed, () => `deleted webhook ${removed.id} (${removed.url})\n`);
    });
  webhooks
    .command('deliveries')
    .description("a subscription's deliveries, newest first; --status dead lists its dead letters")
    .argument('<id>')
    .option('--status <status>', 'pending, delivered or dead')
    .option('--limit <n>', 'page size', '20')
    .option('--all', 'follow every page')
    .action(async (id: string, options: { status?: string; limit: string; all?: boolean }) => {
      const items = await (await client()).list<WebhookDelivery>(`/v1/webhooks/${apiPath(id)}/deliveries`, { status: options.status, limit: options.limit }, !!options.all);
      print(items, () =>
        formatTable(
          ['ID', 'EVENT', 'SUBJECT', 'STATUS', 'ATTEMPTS', 'LAST OUTCOME', 'NEXT ATTEMPT'],
          items.map((d) => [d.id, d.event.type, d.event.subject, d.status, d.attempts.length, attemptOutcome(d.attempts.at(-1)), d.nextAttemptAt]),
        ),
      );
    });
  webhooks
    .command('replay')
    .description('send a dead or delivered delivery again now')
    .argument('<delivery-id>')
    .action(async (id: string) => {
      const delivery = await (await client()).post<WebhookDelivery>(`/v1/webhook-deliveries/${apiPath(id)}/replay`);
      print(delivery, () => `delivery ${delivery.id} (${delivery.event.type} ${delivery.event.subject}) is queued again\n`);
    });
  webhooks
    .command('test')
    .description('send a webhook.test event to the subscription now; exit 1 if the receiver did not answer 2xx')
    .argument('<id>')
    .action(async (id: string) => {
      const tested = await (await client()).post<WebhookTest>(`/v1/webhooks/${apiPath(id)}/test`);
      print(tested, () =>
        tested.delivered
          ? `delivered: the receiver answered ${tested.attempt.statusCode} in ${tested.attempt.durationMs} ms\n`
          : `not delivered: ${tested.attempt.error} (delivery ${tested.delivery.id})\n`,
      );
      if (!tested.delivered) throw new ExitError(1);
    });
}
