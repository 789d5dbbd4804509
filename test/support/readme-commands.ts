/**
 * The fenced shell blocks of one README section, in order, so a test can run
 * the README exactly as printed: a block whose info string starts with `sh`
 * is a command block; `text`, `json`, `jsonl` and the rest are shown output
 * or file contents.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const README = resolve(__dirname, '../../README.md');

export interface CommandBlock {
  /** The block's info string, e.g. `sh` or `sh http`. */
  info: string;
  /** 1-based line of the opening fence in README.md. */
  line: number;
  code: string;
}

/** The `sh` blocks of the section titled `heading`, at any level, up to the next heading of its level or above. */
export function readmeCommandBlocks(heading: string, markdown = readFileSync(README, 'utf8')): CommandBlock[] {
  const { lines, start, level } = sectionOf(heading, markdown);
  const blocks: CommandBlock[] = [];
  let open: CommandBlock | undefined;
  let fence = '';
  for (let index = start + 1; index < lines.length; index++) {
    const line = lines[index];
    if (open === undefined && fence === '') {
      const nextHeading = /^(#{1,6}) /.exec(line);
      if (nextHeading && nextHeading[1].length <= level) break;
      const opening = /^(`{3,})(.*)$/.exec(line);
      if (!opening) continue;
      fence = opening[1];
      const info = opening[2].trim();
      if (info === 'sh' || info.startsWith('sh ')) open = { info, line: index + 1, code: '' };
      continue;
    }
    if (line.startsWith(fence) && line.slice(fence.length).trim() === '') {
      if (open) blocks.push(open);
      open = undefined;
      fence = '';
      continue;
    }
    if (open) open.code += `${line}\n`;
  }
  if (fence !== '') throw new Error(`README.md: the block opened at line ${open?.line ?? '?'} is never closed`);
  return blocks;
}

/**
 * One bash script running the blocks in order in one shell, stopping at the
 * first command that fails and naming its block: `set -euo pipefail`, and
 * curl failing on HTTP errors while still printing the error body.
 */
export function walkthroughScript(blocks: CommandBlock[]): string {
  const prelude = ['set -euo pipefail', 'curl() { command curl --fail-with-body --show-error "$@"; }'];
  const body = blocks.flatMap((block) => [`echo "::: README.md line ${block.line} (${block.info})" >&2`, block.code]);
  return `${[...prelude, ...body].join('\n')}\n`;
}

/**
 * The variables the section says to start the registry with: from its line
 * `NAME=value … npm start` (in a `text` block, as the reader runs it in a
 * terminal of its own); none when it has no such line.
 */
export function readmeStartEnvironment(heading: string, markdown = readFileSync(README, 'utf8')): Record<string, string> {
  const { lines, start, level } = sectionOf(heading, markdown);
  let fence = '';
  let command: string | undefined;
  for (const line of lines.slice(start + 1)) {
    if (fence === '') {
      const nextHeading = /^(#{1,6}) /.exec(line);
      if (nextHeading && nextHeading[1].length <= level) break;
      fence = /^(`{3,})/.exec(line)?.[1] ?? '';
    } else if (line.startsWith(fence) && line.slice(fence.length).trim() === '') fence = '';
    else if (/^(?:[A-Z_]+=\S+ )+npm start$/.test(line.trim())) {
      command = line;
      break;
    }
  }
  if (!command) return {};
  return Object.fromEntries(
    command
      .trim()
      .split(' ')
      .slice(0, -2)
      .map((assignment) => assignment.split('=', 2) as [string, string]),
  );
}

/** The README's lines, and the index and level of the heading titled `heading`. */
function sectionOf(heading: string, markdown: string): { lines: string[]; start: number; level: number } {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && line.replace(/^#+ /, '') === heading);
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  return { lines, start, level: /^#+/.exec(lines[start])![0].length };
}
