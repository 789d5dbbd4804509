import { SizeLimitError } from './size-limit-error';

describe('SizeLimitError', () => {
  const limit = { what: 'the thing', setting: 'MAX_THING_SIZE', maxBytes: 2 * 1024 ** 3, advice: 'send less' };

  it('names the limit, the setting that raises it and what to do, in the message and the details', () => {
    const error = new SizeLimitError('thing_too_large', limit);
    expect(error).toMatchObject({
      kind: 'too_large',
      code: 'thing_too_large',
      message: 'the thing is larger than MAX_THING_SIZE (2 GiB); send less, or set MAX_THING_SIZE on the registry to raise the limit',
      details: { setting: 'MAX_THING_SIZE', maxBytes: 2 * 1024 ** 3 },
    });
  });

  it('says when the declared Content-Length alone was over it', () => {
    const error = new SizeLimitError('thing_too_large', limit, 3 * 1024 ** 3);
    expect(error.message).toBe(
      'the declared Content-Length (3221225472 bytes) is larger than MAX_THING_SIZE (2 GiB); send less, or set MAX_THING_SIZE on the registry to raise the limit',
    );
    expect(error.details).toEqual({ setting: 'MAX_THING_SIZE', maxBytes: 2 * 1024 ** 3, declaredBytes: 3 * 1024 ** 3 });
  });
});
