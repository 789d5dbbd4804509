import { detectFormat, mediaTypeOf, parseArtifactPath } from './artifact-path';
import { UnsafePathError } from './errors';

describe('parseArtifactPath', () => {
  it.each([
    ['model.onnx', 'model.onnx'],
    ['weights/layer%201.bin', 'weights/layer 1.bin'],
    ['a/b/c.json', 'a/b/c.json'],
    ['%C3%A9t%C3%A9.txt', 'été.txt'],
    ['.hidden', '.hidden'],
    ['..data', '..data'],
  ])('accepts %s as %s', (raw, expected) => {
    expect(parseArtifactPath(raw)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['/etc/passwd', 'absolute'],
    ['%2Fetc%2Fpasswd', 'encoded absolute'],
    ['../x', 'parent'],
    ['a/%2E%2E/x', 'encoded parent'],
    ['./x', 'current directory'],
    ['a//b', 'empty segment'],
    ['a/', 'trailing slash'],
    ['a%2Fb', 'encoded slash inside a segment'],
    ['a%5Cb', 'backslash'],
    ['a\\b', 'raw backslash'],
    ['a%00b', 'NUL'],
    ['a%0Ab', 'control character'],
    ['C:%5Cwindows', 'drive letter'],
    ['C:/windows', 'drive letter with slash'],
    ['%E0%A4%A', 'bad percent-encoding'],
    ['x'.repeat(256), 'an over-long segment'],
  ])('rejects %j (%s)', (raw) => {
    expect(() => parseArtifactPath(raw)).toThrow(UnsafePathError);
  });
});

describe('detectFormat and mediaTypeOf', () => {
  it('prefers the most specific artifact format', () => {
    expect(detectFormat(['config.json', 'model.onnx', 'weights.bin'])).toBe('onnx');
    expect(detectFormat(['model.safetensors', 'tokenizer.json'])).toBe('safetensors');
    expect(detectFormat(['checkpoint.PT'])).toBe('pytorch');
    expect(detectFormat(['clf.joblib'])).toBe('pickle');
    expect(detectFormat(['README.md'])).toBe('other');
  });

  it('maps known extensions and falls back to octet-stream', () => {
    expect(mediaTypeOf('m/model.onnx')).toBe('application/onnx');
    expect(mediaTypeOf('data.JSONL')).toBe('application/jsonl');
    expect(mediaTypeOf('weights')).toBe('application/octet-stream');
  });
});
