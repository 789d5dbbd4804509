import { signatureHeader } from './webhook-signature';

describe('signatureHeader', () => {
  it('signs "<t>.<raw body>" with HMAC-SHA256 under the secret, as t=…,v1=<hex>', () => {
    // Computed independently: printf '%s' '1700000000.{"id":"e1"}' | openssl dgst -sha256 -hmac 'whsec_0123456789abcdef'
    expect(signatureHeader('whsec_0123456789abcdef', '{"id":"e1"}', 1_700_000_000)).toBe('t=1700000000,v1=1d0aa489f3bec83604c4c19ad75263ddc9ca64959e07123cbb586b3bce5c3045');
  });

  it('changes with the body, the timestamp and the secret', () => {
    const base = signatureHeader('s'.repeat(16), '{}', 1);
    expect(signatureHeader('s'.repeat(16), '{ }', 1)).not.toBe(base);
    expect(signatureHeader('s'.repeat(16), '{}', 2).split(',v1=')[1]).not.toBe(base.split(',v1=')[1]);
    expect(signatureHeader('t'.repeat(16), '{}', 1)).not.toBe(base);
  });
});
