import type { Lineage, StageEvent } from './api-types';
import { describeStageEvent, lineageTree, renderTree } from './lineage-tree';

const node = (version: string, relation: 'self' | 'ancestor' | 'descendant', stageHistory: StageEvent[] = []) => ({
  model: 'fraud',
  version,
  status: 'validated',
  stage: 'none',
  task: 'classification',
  relation,
  stageHistory,
});
const ref = (version: string) => ({ model: 'fraud', version });
const event = (overrides: Partial<StageEvent>): StageEvent => ({
  seq: 1,
  version: '2.0.0',
  stage: 'production',
  action: 'promoted',
  actor: 'lead',
  approvers: [],
  promotionId: null,
  gateRunId: null,
  reason: null,
  at: '2026-11-24T10:00:00.000Z',
  ...overrides,
});

describe('renderTree', () => {
  it('draws branches, continuing the bar only below siblings that follow', () => {
    const tree = {
      label: 'root',
      children: [
        { label: 'a', children: [{ label: 'a1', children: [] }] },
        { label: 'b', children: [{ label: 'b1', children: [] }] },
      ],
    };
    expect(renderTree(tree)).toBe(['root', '├── a', '│   └── a1', '└── b', '    └── b1', ''].join('\n'));
  });
});

describe('describeStageEvent', () => {
  it('names the move, who made and approved it, the gate run and the reason', () => {
    expect(describeStageEvent(event({ approvers: ['ann', 'bo'], gateRunId: 'run-1', reason: 'ship it' }))).toBe(
      'promoted to production by lead, approved by ann, bo · gate run run-1 · "ship it"',
    );
    expect(describeStageEvent(event({ action: 'rolled_back', actor: 'oncall' }))).toBe('rolled back from production by oncall');
  });
});

describe('lineageTree', () => {
  it('hangs stage history, datasets, parents and children under the queried version', () => {
    const lineage: Lineage = {
      root: ref('2.0.0'),
      nodes: [node('2.0.0', 'self', [event({ gateRunId: 'run-9' })]), node('1.0.0', 'ancestor'), node('3.0.0', 'descendant')],
      edges: [
        { child: ref('2.0.0'), parent: ref('1.0.0'), relation: 'fine_tuned_from' },
        { child: ref('3.0.0'), parent: ref('2.0.0'), relation: 'distilled_from' },
      ],
      datasets: [{ name: 'tx', version: '2024-11', role: 'training', sha256: 'ab'.repeat(32), usedBy: ref('2.0.0') }],
    };
    expect(renderTree(lineageTree(lineage))).toBe(
      [
        'fraud@2.0.0  [validated · no stage · classification]',
        '├── stage history',
        '│   └── 2026-11-24T10:00:00.000Z  promoted to production by lead · gate run run-9',
        '├── datasets',
        `│   └── tx@2024-11 (training) sha256:${'ab'.repeat(32)}`,
        '├── parent (fine_tuned_from): fraud@1.0.0  [validated · no stage · classification]',
        '└── child (distilled_from): fraud@3.0.0  [validated · no stage · classification]',
        '',
      ].join('\n'),
    );
  });

  it('expands a version reached by two paths once', () => {
    const lineage: Lineage = {
      root: ref('3.0.0'),
      nodes: [node('3.0.0', 'self'), node('2.0.0', 'ancestor'), node('2.1.0', 'ancestor'), node('1.0.0', 'ancestor')],
      edges: [
        { child: ref('3.0.0'), parent: ref('2.0.0'), relation: 'merged_from' },
        { child: ref('3.0.0'), parent: ref('2.1.0'), relation: 'merged_from' },
        { child: ref('2.0.0'), parent: ref('1.0.0'), relation: 'fine_tuned_from' },
        { child: ref('2.1.0'), parent: ref('1.0.0'), relation: 'fine_tuned_from' },
      ],
      datasets: [],
    };
    const text = renderTree(lineageTree(lineage));
    expect(text.match(/fraud@1\.0\.0 {2}\[/g)).toHaveLength(1);
    expect(text).toContain('└── parent (fine_tuned_from): fraud@1.0.0 (shown above)');
  });
});
