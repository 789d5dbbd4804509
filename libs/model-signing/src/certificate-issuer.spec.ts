import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { grantsDigitalSignature } from './certificates';
import { issueCertificate } from './certificate-issuer';

const KEYS: [string, () => { privateKey: KeyObject; publicKey: KeyObject }][] = [
  ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
  ['Ed25519', () => generateKeyPairSync('ed25519')],
  ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
];

describe('issueCertificate', () => {
  it.each(KEYS)('issues a self-signed %s CA and a signing certificate under it that Node verifies', (_name, generate) => {
    const rootKeys = generate();
    const root = issueCertificate({ subjectKey: rootKeys.privateKey, commonName: 'Test Root', ca: true, validDays: 30 });
    expect(root.ca).toBe(true);
    expect(root.verify(rootKeys.publicKey)).toBe(true);
    expect(root.subject).toBe('CN=Test Root');

    const leafKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const leaf = issueCertificate({
      subjectKey: leafKeys.publicKey,
      commonName: 'release-bot',
      ca: false,
      validDays: 7,
      issuer: { privateKey: rootKeys.privateKey, certificate: root },
    });
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.publicKey.export({ type: 'spki', format: 'pem' })).toBe(leafKeys.publicKey.export({ type: 'spki', format: 'pem' }));
    expect(grantsDigitalSignature(leaf)).toBe(true);
    expect(grantsDigitalSignature(root)).toBe(false);
    expect(leaf.keyUsage).toContain('1.3.6.1.5.5.7.3.3');
    expect(new Date(leaf.validTo).getTime() - Date.now()).toBeGreaterThan(6 * 86_400_000);
  });
});
