import { createHash } from 'node:crypto';
import { canonicalJson, chainHash, GENESIS_HASH } from './audit-chain';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: null, e: 'x' }], c: undefined } })).toBe('{"a":{"d":[3,{"e":"x","f":null}]},"b":1}');
  });

  it('gives the same bytes for the same event built in any order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });
});

describe('chainHash', () => {
  const event = { seq: 1, occurredAt: new Date('2026-01-02T03:04:05.678Z'), actor: 'eve', action: 'model.created', subject: 'model:m', payload: { tags: ['a'] } };

  it('is SHA-256 over the previous hash and the canonical event', () => {
    const canonical = '{"action":"model.created","actor":"eve","occurredAt":"2026-01-02T03:04:05.678Z","payload":{"tags":["a"]},"seq":1,"subject":"model:m"}';
    expect(chainHash(GENESIS_HASH, event)).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + canonical)
        .digest('hex'),
    );
  });

  it('changes with any field and with the previous hash', () => {
    const base = chainHash(GENESIS_HASH, event);
    expect(chainHash(GENESIS_HASH, { ...event, actor: 'mallory' })).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...event, payload: { tags: ['b'] } })).not.toBe(base);
    expect(chainHash('1'.repeat(64), event)).not.toBe(base);
  });
});
