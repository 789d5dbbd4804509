import { formatBytes } from './byte-size';
import { DomainError } from './domain-error';

/**
 * A body over a limit the operator sets: the message names the limit and the variable that raises it, and so do
 * the details (`setting`, `maxBytes`, and `declaredBytes` when the client's Content-Length alone was enough to refuse).
 */
export class SizeLimitError extends DomainError {
  constructor(code: string, limit: { what: string; setting: string; maxBytes: number; advice: string }, declaredBytes?: number) {
    const { what, setting, maxBytes, advice } = limit;
    super(
      'too_large',
      code,
      `${declaredBytes === undefined ? `${what} is` : `the declared Content-Length (${declaredBytes} bytes) is`} larger than ${setting} (${formatBytes(maxBytes)}); ` +
        `${advice}, or set ${setting} on the registry to raise the limit`,
      { setting, maxBytes, ...(declaredBytes === undefined ? {} : { declaredBytes }) },
    );
  }
}
