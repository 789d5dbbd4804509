import type { ModelStages, Version } from './registry-types';
import { compareVersionNumbers, sortVersions, stageSlots, tagLabels } from './stage-board';

const holder = (version: string, trafficPercent: number | null = null) => ({
  version,
  trafficPercent,
  assignedBy: 'ci',
  assignedAt: '2026-12-06T10:00:00.000Z',
  promotionId: null,
});
const version = (number: string, stage: string, createdAt: string, status = 'validated'): Version => ({
  model: 'fraud',
  version: number,
  status,
  stage,
  task: 'classification',
  tags: {},
  aliases: [],
  createdBy: 'ci',
  createdAt,
  gate: null,
});

describe('the stage board', () => {
  it('has a slot for every serving stage in order, empty where no version holds it, the canary with its traffic', () => {
    const stages: ModelStages = { model: 'fraud', stages: { staging: null, canary: holder('1.3.0', 10), production: holder('1.2.0') } };
    expect(stageSlots(stages)).toEqual([
      { stage: 'staging', version: null, traffic: null, since: null, by: null },
      { stage: 'canary', version: '1.3.0', traffic: '10% of requests', since: '2026-12-06T10:00:00.000Z', by: 'ci' },
      { stage: 'production', version: '1.2.0', traffic: null, since: '2026-12-06T10:00:00.000Z', by: 'ci' },
    ]);
  });
});

describe('sorting versions', () => {
  const versions = [
    version('1.9.0', 'none', '2026-12-01T00:00:00Z'),
    version('1.10.0', 'production', '2026-12-02T00:00:00Z'),
    version('1.10.0-rc.1', 'canary', '2026-12-03T00:00:00Z', 'registered'),
    version('2.0.0', 'staging', '2026-12-04T00:00:00Z'),
  ];
  const order = (sorted: Version[]) => sorted.map((each) => each.version);

  it('orders version numbers numerically, part by part', () => {
    expect(order(sortVersions(versions, 'version', 'ascending'))).toEqual(['1.9.0', '1.10.0', '1.10.0-rc.1', '2.0.0']);
    expect(compareVersionNumbers('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareVersionNumbers('1.0', '1.0.0')).toBeLessThan(0);
    expect(compareVersionNumbers('v2', 'v10')).toBeGreaterThan(0);
  });

  it('puts what serves first when sorting by stage, newest first within one', () => {
    expect(order(sortVersions(versions, 'stage', 'descending'))).toEqual(['1.10.0', '1.10.0-rc.1', '2.0.0', '1.9.0']);
  });

  it('sorts by registration time and by status, and leaves its input as it was', () => {
    const copy = [...versions];
    expect(order(sortVersions(versions, 'createdAt', 'descending'))).toEqual(['2.0.0', '1.10.0-rc.1', '1.10.0', '1.9.0']);
    expect(order(sortVersions(versions, 'status', 'ascending'))).toEqual(['1.10.0-rc.1', '2.0.0', '1.10.0', '1.9.0']);
    expect(versions).toEqual(copy);
  });

  it('labels tags as key=value, sorted by key', () => {
    expect(tagLabels({ runtime: 'browser', owner: 'risk' })).toEqual(['owner=risk', 'runtime=browser']);
  });
});
