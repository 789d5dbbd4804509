import type { Lineage, StageEvent, VersionRef } from './api-types';

/** One line of a tree and what hangs below it. */
export interface TreeNode {
  label: string;
  children: TreeNode[];
}

/** Draws a tree with box-drawing branches, the root's label on the first line. */
export function renderTree(root: TreeNode): string {
  const lines = [root.label];
  const walk = (children: TreeNode[], indent: string) => {
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      lines.push(`${indent}${last ? '└── ' : '├── '}${child.label}`);
      walk(child.children, `${indent}${last ? '    ' : '│   '}`);
    });
  };
  walk(root.children, '');
  return `${lines.join('\n')}\n`;
}

const ACTION_PHRASES: Record<string, string> = {
  promoted: 'promoted to',
  replaced: 'replaced in',
  rolled_back: 'rolled back from',
  restored: 'restored to',
  canary_aborted: 'aborted as',
};

/** "promoted to production by lead, approved by a, b · gate run … · "reason"" */
export function describeStageEvent(event: StageEvent): string {
  const parts = [`${ACTION_PHRASES[event.action] ?? event.action} ${event.stage} by ${event.actor}`];
  if (event.approvers.length > 0) parts[0] += `, approved by ${event.approvers.join(', ')}`;
  if (event.gateRunId) parts.push(`gate run ${event.gateRunId}`);
  if (event.reason) parts.push(`"${event.reason}"`);
  return parts.join(' · ');
}

const key = (ref: VersionRef) => `${ref.model}@${ref.version}`;

/**
 * The lineage graph as a tree from the queried version: its stage history and
 * datasets, then parents upward and children downward. A version reached twice
 * (a diamond) is expanded once and named again where it recurs.
 */
export function lineageTree(lineage: Lineage): TreeNode {
  const nodes = new Map(lineage.nodes.map((node) => [key(node), node]));
  const expanded = new Set<string>();

  const versionNode = (ref: VersionRef, heading: string, toward: 'parents' | 'children' | 'both'): TreeNode => {
    const id = key(ref);
    const node = nodes.get(id);
    const summary = node ? `  [${node.status} · ${node.stage === 'none' ? 'no stage' : node.stage} · ${node.task}]` : '';
    if (expanded.has(id)) return { label: `${heading}${id} (shown above)`, children: [] };
    expanded.add(id);
    const children: TreeNode[] = [];
    const history = node?.stageHistory ?? [];
    if (history.length > 0) {
      children.push({ label: 'stage history', children: history.map((event) => ({ label: `${event.at}  ${describeStageEvent(event)}`, children: [] })) });
    }
    const datasets = lineage.datasets.filter((dataset) => key(dataset.usedBy) === id);
    if (datasets.length > 0) {
      children.push({ label: 'datasets', children: datasets.map((d) => ({ label: `${d.name}@${d.version} (${d.role}) sha256:${d.sha256}`, children: [] })) });
    }
    if (toward !== 'children') {
      for (const edge of lineage.edges.filter((e) => key(e.child) === id)) children.push(versionNode(edge.parent, `parent (${edge.relation}): `, 'parents'));
    }
    if (toward !== 'parents') {
      for (const edge of lineage.edges.filter((e) => key(e.parent) === id)) children.push(versionNode(edge.child, `child (${edge.relation}): `, 'children'));
    }
    return { label: `${heading}${id}${summary}`, children };
  };

  return versionNode(lineage.root, '', 'both');
}
