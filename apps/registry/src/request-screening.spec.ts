import { carriesBody, hasEncodedNul, isJsonContentType, JsonTooDeepError, MAX_JSON_DEPTH, nonObjectBody, NulCharacterError, screenJsonBody, takesBytes } from './request-screening';

const screen = (json: string) => () => screenJsonBody(Buffer.from(json, 'utf8'));
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('screenJsonBody', () => {
  it.each([
    ['an ordinary body', '{"name":"m","tags":["a","b"],"params":{"lr":0.1,"layers":[1,2,3]}}'],
    ['brackets and braces inside strings, which do not nest', JSON.stringify({ description: '[[[[{{{{'.repeat(100) })],
    ['an escaped quote before a bracket in a string', JSON.stringify({ d: '\\"[[[' + '['.repeat(200) })],
    ['escapes that are not NUL', JSON.stringify({ d: '\u0001 \u00e9 \\u0000 as text' })],
    ['a key that spells \\u0000 with an escaped backslash', '{"\\\\u0000":1}'],
    [`exactly ${MAX_JSON_DEPTH} levels`, nested(MAX_JSON_DEPTH)],
    ['many siblings at a shallow depth', `[${Array.from({ length: 5000 }, () => '{"a":[1]}').join(',')}]`],
  ])('accepts %s', (_name, json) => {
    expect(screen(json)).not.toThrow();
  });

  it.each([
    ['a NUL escape in a value', '{"description":"a\\u0000b"}'],
    ['a NUL escape in a key', '{"params":{"k\\u0000":1}}'],
    ['a NUL escape deep in an array', '{"params":{"x":[["\\u0000"]]}}'],
    ['a NUL escape right after another escape', '{"d":"\\n\\u0000"}'],
  ])('refuses %s', (_name, json) => {
    expect(screen(json)).toThrow(NulCharacterError);
  });

  it(`refuses nesting past ${MAX_JSON_DEPTH} levels, mixed or not, and 400,000 deep at once`, () => {
    expect(screen(nested(MAX_JSON_DEPTH + 1))).toThrow(JsonTooDeepError);
    expect(screen(`{"a":${'{"a":['.repeat(40)}1${']}'.repeat(40)}}`)).toThrow(JsonTooDeepError);
    expect(screen('['.repeat(400_000))).toThrow(JsonTooDeepError);
  });

  it('names the limit in the error', () => {
    expect(screen(nested(MAX_JSON_DEPTH + 1))).toThrow(expect.objectContaining({ code: 'json_too_deep', details: { maxDepth: MAX_JSON_DEPTH } }));
  });
});

describe('hasEncodedNul', () => {
  it('finds an encoded NUL in the path or the query, and nothing else', () => {
    expect(hasEncodedNul('/v1/models/a%00b')).toBe(true);
    expect(hasEncodedNul('/v1/models?search=%00')).toBe(true);
    expect(hasEncodedNul('/v1/models?search=%2500')).toBe(false);
    expect(hasEncodedNul('/v1/models/a%20b?search=x')).toBe(false);
  });
});

describe('takesBytes', () => {
  it('takes every PUT as an upload but the JSON settings routes', () => {
    expect(takesBytes({ method: 'PUT', url: '/v1/models/m/versions/1.0.0/files/model.onnx' })).toBe(true);
    expect(takesBytes({ method: 'PUT', url: '/v1/datasets/d/1/file' })).toBe(true);
    expect(takesBytes({ method: 'PUT', url: '/v1/models/m/scan-allowances' })).toBe(false);
    expect(takesBytes({ method: 'PUT', url: '/v1/models/m/versions/1.0.0/tags/runtime%2Ftarget' })).toBe(false);
    expect(takesBytes({ method: 'PUT', url: '/v1/models/m/aliases/champion' })).toBe(false);
    expect(takesBytes({ method: 'PUT', url: '/v1/models/m/versions/1.0.0/files/tags/x' })).toBe(true);
    expect(takesBytes({ method: 'PUT', url: '/v1/models/m/scan-allowances?x=1' })).toBe(false);
    expect(takesBytes({ method: 'POST', url: '/v1/models/m/versions/1.0.0/files/model.onnx' })).toBe(false);
  });
});

describe('carriesBody', () => {
  it('is true for a Content-Length over zero or a chunked body, and false for none or zero', () => {
    expect(carriesBody({ headers: { 'content-length': '4' } })).toBe(true);
    expect(carriesBody({ headers: { 'transfer-encoding': 'chunked' } })).toBe(true);
    expect(carriesBody({ headers: { 'content-length': '0' } })).toBe(false);
    expect(carriesBody({ headers: {} })).toBe(false);
  });
});

describe('isJsonContentType', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/merge-patch+json', 'application/vnd.api+json;x=1'])('accepts %s', (type) => {
    expect(isJsonContentType(type)).toBe(true);
  });

  it.each(['application/x-www-form-urlencoded', 'text/plain', 'text/json', 'application/json-seq', 'multipart/form-data; boundary=x', '', undefined])('refuses %s', (type) => {
    expect(isJsonContentType(type)).toBe(false);
  });
});

describe('nonObjectBody', () => {
  it('names what a body that is not an object is, and passes objects', () => {
    expect([null, [], [{}], 42, 'x', true].map(nonObjectBody)).toEqual(['null', 'an array', 'an array', 'a number', 'a string', 'a boolean']);
    expect(nonObjectBody({})).toBeUndefined();
    expect(nonObjectBody({ name: 'm' })).toBeUndefined();
  });
});
