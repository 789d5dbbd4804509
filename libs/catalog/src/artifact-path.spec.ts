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
    ['x'.repeat(255), 'x'.repeat(255)],
    [encodeURIComponent('é'.repeat(127)), 'é'.repeat(127)],
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
    [encodeURIComponent('é'.repeat(128)), 'a segment of 128 characters but 256 bytes in UTF-8'],
    [encodeURIComponent('😀'.repeat(64)), 'a segment of 128 UTF-16 code units but 256 bytes in UTF-8'],
    [Array.from({ length: 5 }, () => encodeURIComponent('é'.repeat(120))).join('/'), 'a path of 604 characters but 1204 bytes in UTF-8'],
  ])('rejects %j (%s)', (raw) => {
    expect(() => parseArtifactPath(raw)).toThrow(UnsafePathError);
  });

  it('names the byte limit a segment breaks', () => {
    expect(() => parseArtifactPath(encodeURIComponent('é'.repeat(128)))).toThrow('a segment is longer than 255 bytes in UTF-8');
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
