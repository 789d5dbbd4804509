import { createHash } from 'node:crypto';

const BUCKETS = 2 ** 32;

/**
 * Whether a request key falls in the canary's share. The key's bucket is a
 * hash of model and key, uniform over [0, 2^32): the same key always lands in
 * the same bucket, so it keeps its version while the percent is unchanged,
 * and raising the percent only adds buckets, moving keys toward the canary.
 */
export function servesCanary(model: string, key: string, trafficPercent: number): boolean {
  const bucket = createHash('sha256').update(model).update('\0').update(key).digest().readUInt32BE(0);
  return bucket < (trafficPercent / 100) * BUCKETS;
}
