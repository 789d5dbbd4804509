import { describeTensor, entriesOf, fileUrl, formatBytes } from './version-facts';

describe('version facts', () => {
  it('writes sizes in binary units', () => {
    expect([0, 447, 1024, 1536, 12 * 1024 ** 2, 3 * 1024 ** 4].map(formatBytes)).toEqual(['0 B', '447 B', '1.0 KiB', '1.5 KiB', '12.0 MiB', '3.0 TiB']);
  });

  it('describes a tensor with its symbolic dimensions kept', () => {
    expect(describeTensor({ name: 'features', dtype: 'float32', shape: ['batch', 8] })).toBe('features float32 [batch, 8]');
  });

  it('lists an object sorted by key, non-strings as JSON', () => {
    expect(entriesOf({ lr: 0.5, epochs: 150, optimizer: 'adam', layers: [64, 32] })).toEqual([
      ['epochs', '150'],
      ['layers', '[64,32]'],
      ['lr', '0.5'],
      ['optimizer', 'adam'],
    ]);
  });

  it('encodes every segment of a file path, keeping the slashes between them', () => {
    expect(fileUrl('fraud', '1.2.0+build', 'weights/model #1.onnx')).toBe('/v1/models/fraud/versions/1.2.0%2Bbuild/files/weights/model%20%231.onnx');
  });
});
