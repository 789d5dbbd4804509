import { createHash } from 'node:crypto';
import { isSemanticVersion, manifestDigest } from './manifest';

describe('manifestDigest', () => {
  const a = { path: 'b/model.onnx', sha256: 'a'.repeat(64), size: 10 };
  const b = { path: 'a.json', sha256: 'b'.repeat(64), size: 2 };

  it('does not depend on upload order', () => {
    expect(manifestDigest([a, b])).toBe(manifestDigest([b, a]));
  });

  it('is the SHA-256 of the canonical sorted manifest', () => {
    const canonical = JSON.stringify([b, a].map(({ path, sha256, size }) => ({ path, sha256, size })));
    expect(manifestDigest([a, b])).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('changes when any file changes', () => {
    expect(manifestDigest([a, { ...b, size: 3 }])).not.toBe(manifestDigest([a, b]));
    expect(manifestDigest([a, { ...b, path: 'c.json' }])).not.toBe(manifestDigest([a, b]));
  });
});

describe('isSemanticVersion', () => {
  it.each(['0.0.1', '1.2.3', '10.20.30', '2.0.0-rc.1', '1.0.0-alpha.beta+exp.sha.5114f85', '1.0.0+20130313144700'])('accepts %s', (v) => {
    expect(isSemanticVersion(v)).toBe(true);
  });

  it.each(['v1.0.0', '1.0', '1', '01.0.0', '1.0.0-', ' 1.0.0', '=1.0.0', 'latest', '1.0.0-01'])('rejects %j', (v) => {
    expect(isSemanticVersion(v)).toBe(false);
  });
});
