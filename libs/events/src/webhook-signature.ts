import { createHmac } from 'node:crypto';

/**
 * The Gatehouse-Signature header (Stripe's scheme): `t=<unix seconds>,v1=<hex
 * HMAC-SHA256(secret, "<t>.<raw body>")>`. Signing the timestamp with the
 * body lets a receiver refuse replays older than it tolerates.
 */
export function signatureHeader(secret: string, rawBody: string, unixSeconds: number): string {
  const signature = createHmac('sha256', secret).update(`${unixSeconds}.${rawBody}`).digest('hex');
  return `t=${unixSeconds},v1=${signature}`;
}
