import { PassThrough } from 'node:stream';
import { DEFAULT_GATE_SETTINGS, type CheckResult, type StagePolicy } from '@gatehouse/gate-engine';
import { ValidateProgress } from './validate-progress';

const policy: StagePolicy = {
  stage: 'registered',
  task: 'classification',
  settings: { ...DEFAULT_GATE_SETTINGS, timeoutSeconds: 600, memoryLimitMiB: 4096 },
  checks: Array.from({ length: 12 }, (_, i) => ({ id: `check_${i}`, severity: 'critical', thresholds: {} })),
};

const result = (id: string, status: CheckResult['status'], message: string, blockedBy?: string): CheckResult => ({
  id,
  family: 'validation',
  severity: 'critical',
  status,
  message,
  value: null,
  threshold: null,
  durationMs: 1234.5,
  ...(blockedBy ? { blockedBy } : {}),
});

function captured(isTTY: boolean): { out: PassThrough & { isTTY?: boolean }; text: () => string } {
  const out: PassThrough & { isTTY?: boolean } = new PassThrough();
  out.isTTY = isTTY;
  const chunks: string[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { out, text: () => chunks.join('') };
}

describe('ValidateProgress', () => {
  it('says what it starts, then with verbose a line per finished check, blocked ones naming the cause', () => {
    const { out, text } = captured(false);
    const progress = new ValidateProgress(out, 'model.onnx', true);
    progress.starting(policy);
    progress.progress({ event: 'started', check: 'check_0', index: 0, total: 12 });
    progress.progress({ event: 'finished', check: 'check_0', index: 0, total: 12, result: result('check_0', 'passed', 'fine') });
    progress.progress({ event: 'started', check: 'check_9', index: 9, total: 12 });
    progress.progress({ event: 'finished', check: 'check_9', index: 9, total: 12, result: result('check_9', 'skipped', 'not run: check_0 did not pass', 'check_0') });
    progress.finish();
    expect(text()).toBe(
      [
        'validating model.onnx: the registered gate for a classification model, 12 checks, in a sandbox (4096 MiB, at most 600 s)',
        '[ 1/12] check_0: passed in 1.23 s: fine',
        '[10/12] check_9: blocked by check_0 in 1.23 s: not run: check_0 did not pass',
        '',
      ].join('\n'),
    );
  });

  it('prints only the start off a terminal without verbose', () => {
    const { out, text } = captured(false);
    const progress = new ValidateProgress(out, 'model.onnx', false);
    progress.starting(policy);
    progress.progress({ event: 'started', check: 'check_0', index: 0, total: 12 });
    progress.progress({ event: 'finished', check: 'check_0', index: 0, total: 12, result: result('check_0', 'passed', 'fine') });
    progress.finish();
    expect(text()).toBe('validating model.onnx: the registered gate for a classification model, 12 checks, in a sandbox (4096 MiB, at most 600 s)\n');
  });

  it('redraws the running check in place on a terminal, clears it for a verbose line and at the end', () => {
    const { out, text } = captured(true);
    const progress = new ValidateProgress(out, 'model.onnx', true);
    progress.starting(policy);
    progress.progress({ event: 'started', check: 'check_0', index: 0, total: 12 });
    progress.progress({ event: 'finished', check: 'check_0', index: 0, total: 12, result: result('check_0', 'passed', 'fine') });
    progress.progress({ event: 'started', check: 'check_1', index: 1, total: 12 });
    progress.finish();
    const shown = text().split('\n');
    expect(shown[1]).toMatch(/^\r\x1b\[K\[ 1\/12\] check_0… \d+s\r\x1b\[K\[ 1\/12\] check_0: passed in 1\.23 s: fine$/);
    expect(shown[2]).toMatch(/^\r\x1b\[K\[ 2\/12\] check_1… \d+s\r\x1b\[K$/);
  });
});
