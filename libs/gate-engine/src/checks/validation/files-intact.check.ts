import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { CheckOutcome, GateCheck } from '../../check';
import type { GateContext } from '../../gate-context';

interface FileProblem {
  path: string;
  problem: 'missing' | 'size' | 'digest';
  expected?: string | number;
  actual?: string | number;
}

/** Re-hashes the bytes the gate will load against the manifest sealed at commit. */
export class FilesIntactCheck implements GateCheck {
  readonly id = 'files_intact';
  readonly family = 'validation';
  readonly description = 'every manifest file is present and its SHA-256 and size match';
  readonly severity = 'critical';
  readonly thresholds = {};
  readonly defaults = {};

  async run(context: GateContext): Promise<CheckOutcome> {
    const problems: FileProblem[] = [];
    let verified = 0;
    for (const file of context.subject.files) {
      const path = context.absolutePath(file.path);
      const found = await stat(path).catch(() => undefined);
      if (!found?.isFile()) {
        problems.push({ path: file.path, problem: 'missing' });
        continue;
      }
      if (found.size !== file.size) {
        problems.push({ path: file.path, problem: 'size', expected: file.size, actual: found.size });
        continue;
      }
      if (file.sha256 !== null) {
        const actual = await sha256Of(path);
        if (actual !== file.sha256) {
          problems.push({ path: file.path, problem: 'digest', expected: file.sha256, actual });
          continue;
        }
      }
      verified++;
    }
    const total = context.subject.files.length;
    if (problems.length > 0) {
      return {
        status: 'failed',
        value: problems.length,
        threshold: 0,
        message: `${problems.length} of ${total} files are not what the manifest says: ${problems.map(describe).join('; ')}`,
        details: { problems },
      };
    }
    return { status: 'passed', value: verified, message: `all ${total} files present and matching the manifest` };
  }

  recommend(): string {
    return 'The stored bytes differ from what was committed: restore the blobs from a backup or register the version again, and find out what changed storage.';
  }
}

function describe(problem: FileProblem): string {
  if (problem.problem === 'missing') return `${problem.path} is missing`;
  if (problem.problem === 'size') return `${problem.path} has ${problem.actual} bytes, expected ${problem.expected}`;
  return `${problem.path} hashes to ${problem.actual}, expected ${problem.expected}`;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
