import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

type Thresholds = { required: boolean };

/**
 * The signature is checked again at gate time, against today's trusted
 * signers: a signer revoked since the version was committed no longer vouches
 * for it. Production policy requires one; elsewhere a missing one only warns.
 */
export class SignatureTrustedCheck implements GateCheck<Thresholds> {
  readonly id = 'signature_trusted';
  readonly family = 'security';
  readonly description = 'the version carries a valid signature, over exactly its files, by a signer trusted today';
  readonly severity = 'critical';
  readonly thresholds = {
    required: { type: 'boolean', description: 'an unsigned version fails (otherwise it only warns)' },
  } as const;
  readonly defaults = { required: false };

  async run(context: GateContext, thresholds: Thresholds): Promise<CheckOutcome> {
    const signature = context.subject.signature;
    if (!signature) return { status: 'skipped', message: 'no signature status: the version was validated where signatures cannot be verified' };
    if (!signature.present) {
      return thresholds.required
        ? { status: 'failed', value: false, threshold: true, message: 'the version is not signed, and this stage requires a signature by a trusted signer' }
        : { status: 'warning', value: false, message: 'the version is not signed' };
    }
    if (!signature.ok) {
      return {
        status: 'failed',
        value: false,
        message: `the signature by ${signature.signer ?? 'an unknown signer'} does not hold: ${signature.message ?? signature.reason ?? 'rejected'}`,
        details: { signer: signature.signer, reason: signature.reason },
      };
    }
    return { status: 'passed', value: true, message: `signed by ${signature.signer}, trusted today, over exactly the version's files`, details: { signer: signature.signer } };
  }

  recommend(result: CheckOutcome): string {
    return result.details?.reason
      ? 'Re-sign the version with a key or certificate that is trusted now (GET /v1/signers lists them), or register the files that were signed.'
      : 'Sign the version at registration with a trusted signer (gatehouse register --sign private.pem, or --signature with a model_signing bundle).';
  }
}
