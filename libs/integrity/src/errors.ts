import { DomainError } from '@gatehouse/errors';

/** A signature that cannot be accepted; `details.reason` is the stable cause. */
export class SignatureRejectedError extends DomainError {
  constructor(reason: string, message: string, details: Record<string, unknown> = {}) {
    super('unprocessable', 'signature_rejected', `signature rejected: ${message}`, { reason, ...details });
  }
}

export class SignerNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'signer_not_found', `trusted signer ${id} does not exist`);
  }
}

export class SignerExistsError extends DomainError {
  constructor(what: string) {
    super('conflict', 'signer_exists', `a trusted signer with this ${what} already exists`);
  }
}

export class InvalidSignerKeyError extends DomainError {
  constructor(message: string) {
    super('invalid', 'invalid_signer_key', message, { fields: [{ field: 'publicKey', errors: [message] }] });
  }
}
