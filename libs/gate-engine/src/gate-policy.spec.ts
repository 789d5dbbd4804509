import { join } from 'node:path';
import { GATE_CHECKS } from './checks';
import { GatePolicy, GatePolicyError } from './gate-policy';

const shipped = join(__dirname, '..', '..', '..', 'config', 'gates.json');

function problemsOf(json: unknown): string[] {
  try {
    GatePolicy.parse(json, GATE_CHECKS);
  } catch (error) {
    if (error instanceof GatePolicyError) return error.problems;
    throw error;
  }
  throw new Error('the policy was accepted');
}

describe('GatePolicy', () => {
  it('accepts the shipped config/gates.json and gives every stage the validation checks', () => {
    const policy = GatePolicy.load(shipped, GATE_CHECKS);
    expect(policy.stageNames.sort()).toEqual(['canary', 'production', 'registered', 'staging']);
    const registered = policy.resolve('registered', 'classification');
    expect(registered.checks.map((check) => check.id)).toEqual(expect.arrayContaining(['files_intact', 'weights_finite', 'model_loads', 'smoke_run', 'evaluation', 'latency']));
  });

  it('resolves thresholds per task: check defaults, then the stage, then byTask', () => {
    const policy = GatePolicy.parse(
      { stages: { registered: { checks: { size_limit: { thresholds: { maxMiB: 10 } , byTask: { generative: { maxMiB: 20 } } }, evaluation: {} } } } },
      GATE_CHECKS,
    );
    expect(policy.resolve('registered', 'classification').checks.find((c) => c.id === 'size_limit')?.thresholds).toEqual({ maxMiB: 10 });
    expect(policy.resolve('registered', 'generative').checks.find((c) => c.id === 'size_limit')?.thresholds).toEqual({ maxMiB: 20 });
    expect(policy.resolve('registered', 'classification').checks.find((c) => c.id === 'evaluation')?.thresholds.minAccuracy).toBe(0.85);
  });

  it('leaves out checks that do not apply to the task', () => {
    const policy = GatePolicy.parse({ stages: { registered: { checks: { evaluation: {}, final_loss: {}, train_accuracy: {} } } } }, GATE_CHECKS);
    expect(policy.resolve('registered', 'generative').checks.map((c) => c.id)).toEqual(['final_loss']);
    expect(policy.resolve('registered', 'classification').checks.map((c) => c.id)).toEqual(['evaluation', 'train_accuracy']);
    expect(policy.resolve('registered', 'regression').checks.map((c) => c.id)).toEqual(['evaluation']);
  });

  it('lets a policy make a check a warning', () => {
    const policy = GatePolicy.parse({ stages: { staging: { checks: { latency: { severity: 'warning' } } } } }, GATE_CHECKS);
    expect(policy.resolve('staging', 'other').checks[0].severity).toBe('warning');
  });

  it('names every problem at once: unknown check, unknown threshold, bad values, unknown stage and task', () => {
    const problems = problemsOf({
      settings: { batchSize: 0, colour: 'red' },
      stages: {
        registered: {
          checks: {
            no_such_check: {},
            evaluation: { thresholds: { minAccuracy: 1.5, maxAccuracy: 1 }, byTask: { poetry: {} } },
            latency: { thresholds: { runs: 10 }, severity: 'fatal' },
            schema_match: { thresholds: { required: 'yes' } },
            artifact_scan: { thresholds: { allowedGlobals: 'os.*', allowedOnnxDomains: ['com.microsoft', ''] } },
          },
        },
        nightly: { checks: {} },
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'settings.batchSize: must be at least 1, not 0',
        expect.stringContaining('settings.colour: unknown setting'),
        expect.stringContaining('stages.registered.checks.no_such_check: unknown check "no_such_check" (known: '),
        'stages.registered.checks.evaluation.thresholds.minAccuracy: must be at most 1, not 1.5',
        expect.stringContaining('stages.registered.checks.evaluation.thresholds.maxAccuracy: "evaluation" has no threshold "maxAccuracy"'),
        expect.stringContaining('stages.registered.checks.evaluation.byTask.poetry: unknown task'),
        'stages.registered.checks.latency.thresholds.runs: must be at least 50, not 10',
        'stages.registered.checks.latency.severity must be "critical" or "warning"',
        'stages.registered.checks.schema_match.thresholds.required: must be true or false, not "yes"',
        'stages.registered.checks.artifact_scan.thresholds.allowedGlobals: must be a list of non-empty strings, not "os.*"',
        'stages.registered.checks.artifact_scan.thresholds.allowedOnnxDomains: must be a list of non-empty strings, not ["com.microsoft",""]',
        expect.stringContaining('stages.nightly: unknown stage'),
      ]),
    );
    expect(problems).toHaveLength(12);
  });

  it('refuses a file that is not JSON, naming the file', () => {
    expect(() => GatePolicy.load(__filename, GATE_CHECKS)).toThrow(/gate policy .*gate-policy.spec.ts is invalid:\n  - not valid JSON/);
    expect(() => GatePolicy.load('/nonexistent/gates.json', GATE_CHECKS)).toThrow(/cannot read it/);
  });
});
