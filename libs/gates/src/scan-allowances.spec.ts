import { GATE_CHECKS, GatePolicy } from '@gatehouse/gate-engine';
import { judgeGlobal } from '@gatehouse/artifact-scan';
import { checkScanAllowances, withScanAllowances } from './scan-allowances';
import { rescanPolicy, scanPolicyDigest } from './scan-verdict';

const problemsOf = (allowedGlobals: string[], allowedOnnxDomains?: string[]) => checkScanAllowances({ allowedGlobals, allowedOnnxDomains }).problems ?? [];

describe('checkScanAllowances', () => {
  it('accepts module.name, dotted class paths and module.* and returns them sorted without repeats', () => {
    expect(
      checkScanAllowances({
        allowedGlobals: ['pathlib.PosixPath', 'mylab.config.TrainConfig', 'mylab.schedules.*', 'mylab.config.TrainConfig', 'mylab.Outer.Inner'],
        allowedOnnxDomains: ['com.microsoft', 'ai.onnx.contrib', 'com.microsoft'],
      }),
    ).toEqual({
      rules: {
        allowedGlobals: ['mylab.Outer.Inner', 'mylab.config.TrainConfig', 'mylab.schedules.*', 'pathlib.PosixPath'],
        allowedOnnxDomains: ['ai.onnx.contrib', 'com.microsoft'],
      },
    });
    expect(checkScanAllowances({ allowedGlobals: [] })).toEqual({ rules: { allowedGlobals: [], allowedOnnxDomains: [] } });
  });

  it.each([
    'TrainConfig',
    'mylab.',
    '.TrainConfig',
    'mylab..TrainConfig',
    'mylab.config.Train Config',
    'mylab.*.TrainConfig',
    'mylab.**',
    '*',
    'my-lab.Config',
    '1lab.Config',
    'mylab.Config\n',
    `mylab.${'x'.repeat(200)}`,
    '',
  ])('refuses %j as malformed, saying how to write it', (pattern) => {
    expect(problemsOf([pattern])).toEqual([
      { field: 'allowedGlobals.0', errors: [expect.stringContaining('write it as module.name (e.g. mylab.config.TrainConfig) or module.*')] },
    ]);
  });

  it.each([
    ['os.system', 'os is a module that can run commands'],
    ['os.*', 'os is a module'],
    ['builtins.eval', 'builtins.eval can call arbitrary code'],
    ['subprocess.Popen', 'subprocess is a module'],
    ['torch.load', 'torch.load can call arbitrary code'],
    ['pathlib.Path.write_text', 'pathlib.Path.write_text is a method that reads or writes files'],
    ['random._os.system', 'goes through _os, the name a module gives os'],
    ['mylab.__subprocess.*', 'goes through __subprocess'],
    ['mylab.os.*', 'names os'],
    ['mylab.helpers.subprocess.run', 'subprocess is a module'],
    ['torch.serialization.os.system', 'reaches'],
    ['mylab.Config.__reduce__', 'walks through Python internals'],
    // Below protocol 3 CPython imports them as pickle.loads and builtins.eval.
    ['cPickle.loads', 'pickle'],
    ['__builtin__.eval', 'eval'],
    ['joblib.numpy_pickle.NumpyArrayWrapper', 'joblib'],
  ])('refuses %s, which the scan refuses whatever is allowed', (pattern, why) => {
    const [problem] = problemsOf([pattern]);
    expect(problem.field).toBe('allowedGlobals.0');
    expect(problem.errors[0]).toContain(`${pattern} cannot be allowed: `);
    expect(problem.errors[0]).toContain(why);
    expect(problem.errors[0]).toContain('re-export the weights');
  });

  it('names every bad entry by its index, globals and domains alike', () => {
    expect(problemsOf(['mylab.Config', 'os.system', 'bad name'], ['com.microsoft', 'com/evil', '']).map((problem) => problem.field)).toEqual([
      'allowedGlobals.1',
      'allowedGlobals.2',
      'allowedOnnxDomains.1',
      'allowedOnnxDomains.2',
    ]);
    expect(problemsOf([], ['com/evil'])[0].errors[0]).toContain('e.g. com.microsoft');
  });

  it('accepts only what the pickle policy then allows, so an accepted allowance always takes effect', () => {
    const accepted = ['mylab.config.TrainConfig', 'pathlib.PosixPath', 'mylab.schedules.*', 'collections.defaultdict', 'datetime.datetime'];
    expect(checkScanAllowances({ allowedGlobals: accepted }).rules).toBeDefined();
    for (const [module, name] of [
      ['mylab.config', 'TrainConfig'],
      ['pathlib', 'PosixPath'],
      ['mylab.schedules', 'Cosine'],
      ['collections', 'defaultdict'],
      ['datetime', 'datetime'],
    ]) {
      expect(judgeGlobal({ module, name, unknown: false, protocol: 4 }, accepted)).toEqual({ verdict: 'allowed' });
      expect(judgeGlobal({ module, name, unknown: false, protocol: 4 })).toMatchObject({ verdict: 'flagged', rule: 'unlisted_global' });
    }
  });
});

describe('withScanAllowances', () => {
  const policy = GatePolicy.parse(
    {
      stages: {
        registered: { checks: { files_intact: {}, artifact_scan: { thresholds: { allowedGlobals: ['shared.Config'], allowedOnnxDomains: ['com.microsoft'] } } } },
        staging: { checks: { files_intact: {} } },
      },
    },
    GATE_CHECKS,
  );
  const registered = policy.resolve('registered', 'classification');
  const rules = { allowedGlobals: ['mylab.config.TrainConfig', 'shared.Config'], allowedOnnxDomains: ['ai.onnx.contrib'] };

  it("adds the model's allowances after the policy's own in the scan's thresholds, leaving every other check alone", () => {
    const merged = withScanAllowances(registered, rules);
    const scan = merged.checks.find((check) => check.id === 'artifact_scan')!;
    expect(scan.thresholds.allowedGlobals).toEqual(['shared.Config', 'mylab.config.TrainConfig']);
    expect(scan.thresholds.allowedOnnxDomains).toEqual(['com.microsoft', 'ai.onnx.contrib']);
    expect(scan.thresholds.maxZipEntries).toBe(registered.checks.find((check) => check.id === 'artifact_scan')!.thresholds.maxZipEntries);
    expect(merged.checks.find((check) => check.id === 'files_intact')).toBe(registered.checks.find((check) => check.id === 'files_intact'));
    // The resolved policy itself is untouched: the next model starts from it.
    expect(registered.checks.find((check) => check.id === 'artifact_scan')!.thresholds.allowedGlobals).toEqual(['shared.Config']);
  });

  it('changes the policy digest when a model allows more, and keeps it when the model allows nothing the policy does not', () => {
    const base = scanPolicyDigest(registered);
    expect(scanPolicyDigest(withScanAllowances(registered, rules))).not.toBe(base);
    expect(scanPolicyDigest(withScanAllowances(registered, { allowedGlobals: [], allowedOnnxDomains: ['ai.onnx.contrib'] }))).not.toBe(base);
    expect(scanPolicyDigest(withScanAllowances(registered, null))).toBe(base);
    expect(scanPolicyDigest(withScanAllowances(registered, { allowedGlobals: [], allowedOnnxDomains: [] }))).toBe(base);
    expect(scanPolicyDigest(withScanAllowances(registered, { allowedGlobals: ['shared.Config'], allowedOnnxDomains: ['com.microsoft'] }))).toBe(base);
  });

  it("gives a re-scan the digest the registration gate recorded, so a model's verdicts are current once re-scanned", () => {
    const recorded = scanPolicyDigest(withScanAllowances(registered, rules));
    for (const stage of ['none', 'staging'] as const) {
      expect(scanPolicyDigest(withScanAllowances(rescanPolicy(policy, stage, 'classification')!, rules))).toBe(recorded);
    }
  });

  it('leaves a policy that does not scan as it is', () => {
    const staging = policy.resolve('staging', 'classification');
    expect(withScanAllowances(staging, rules)).toEqual(staging);
  });
});
