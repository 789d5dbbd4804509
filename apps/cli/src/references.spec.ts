import { parseDatasetRef, parseDatasetVersion, parseVersionRef, UsageError } from './references';

describe('parseVersionRef', () => {
  it('parses model@version with an optional relation', () => {
    expect(parseVersionRef('base@1.0.0')).toEqual({ model: 'base', version: '1.0.0' });
    expect(parseVersionRef('base@2.0.0-rc.1:fine_tuned_from')).toEqual({ model: 'base', version: '2.0.0-rc.1', relation: 'fine_tuned_from' });
  });

  it('refuses anything else as a usage error', () => {
    for (const bad of ['base', 'base@', '@1.0.0', 'a@b@c', 'base@1.0.0:', 'base@1.0.0:Bad-Relation', 'my model@1.0.0']) {
      expect(() => parseVersionRef(bad)).toThrow(UsageError);
    }
  });
});

describe('parseDatasetRef', () => {
  it('parses name@version:role', () => {
    expect(parseDatasetRef('tx@2024-11:training')).toEqual({ name: 'tx', version: '2024-11', role: 'training' });
    expect(parseDatasetRef('golden@1:reference')).toEqual({ name: 'golden', version: '1', role: 'reference' });
  });

  it('requires one of the five roles and names them', () => {
    expect(() => parseDatasetRef('tx@2024-11')).toThrow(/training, validation, evaluation, reference or example/);
    for (const bad of ['tx@1:testing', 'tx:training', '@1:training', 'tx@:training']) expect(() => parseDatasetRef(bad)).toThrow(UsageError);
  });
});

describe('parseDatasetVersion', () => {
  it('parses name@version and refuses a role or a missing part', () => {
    expect(parseDatasetVersion('tx@2024-11')).toEqual({ name: 'tx', version: '2024-11' });
    for (const bad of ['tx', 'tx@', '@1', 'tx@1:training']) expect(() => parseDatasetVersion(bad)).toThrow(UsageError);
  });
});
