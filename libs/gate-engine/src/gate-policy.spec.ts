import { join } from 'node:path';
import { GATE_STAGES, TASKS } from './terms';
import { GATE_CHECKS } from './checks';
import { GatePolicy, GatePolicyError } from './gate-policy';

const shipped = join(__dirname, '..', '..', '..', 'config', 'gates.json');
/** The shipped policy as it was written before `extends`: every stage in full. */
const writtenInFull = join(__dirname, 'fixtures', 'gates-without-extends.json');

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

  it('resolves the shipped policy, written with extends, to the policy it was in full: every stage and task, checks in the same order', () => {
    const policy = GatePolicy.load(shipped, GATE_CHECKS);
    const before = GatePolicy.load(writtenInFull, GATE_CHECKS);
    expect(policy.stageNames).toEqual(before.stageNames);
    for (const stage of GATE_STAGES) {
      for (const task of TASKS) expect({ stage, task, policy: policy.resolve(stage, task) }).toEqual({ stage, task, policy: before.resolve(stage, task) });
    }
    expect(GATE_STAGES.map((stage) => policy.parentOf(stage))).toEqual([null, 'registered', 'staging', 'canary']);
    const production = policy.resolve('production', 'classification').checks.map((check) => check.id);
    expect(production.indexOf('artifact_scan')).toBeLessThan(production.indexOf('model_loads'));
  });

  describe('extends', () => {
    const chain = {
      settings: { timeoutSeconds: 300, dimensions: { seq: 8 } },
      stages: {
        registered: {
          settings: { batchSize: 16, dimensions: { batch: 4 } },
          checks: {
            files_intact: {},
            size_limit: { thresholds: { maxMiB: 50 }, byTask: { generative: { maxMiB: 150 } } },
            latency: { severity: 'warning', thresholds: { runs: 60, warmupRuns: 6, maxP95Ms: 20 } },
            reported_metrics: {},
          },
        },
        staging: {
          extends: 'registered',
          settings: { dimensions: { seq: 16 } },
          checks: {
            latency: { thresholds: { runs: 100 } },
            size_limit: { byTask: { generative: { maxMiB: 200 }, regression: { maxMiB: 10 } } },
            reported_metrics: null,
            signature_trusted: { severity: 'warning' },
          },
        },
        canary: { extends: 'staging', settings: { timeoutSeconds: 900 } },
        production: {
          extends: 'canary',
          checks: { latency: { severity: 'critical' }, onnx_parses: { after: 'files_intact' }, signature_trusted: { thresholds: { required: true } } },
        },
      },
    };
    const policy = GatePolicy.parse(chain, GATE_CHECKS);
    const check = (stage: 'staging' | 'canary' | 'production', id: string, task: 'classification' | 'generative' | 'regression' = 'classification') =>
      policy.resolve(stage, task).checks.find((entry) => entry.id === id);

    it("merges an entry over the parent's: thresholds key by key, byTask task by task, severity kept unless set", () => {
      expect(check('staging', 'latency')).toEqual({ id: 'latency', severity: 'warning', thresholds: { runs: 100, warmupRuns: 6, batchSize: 1, maxP95Ms: 20, maxMemoryMiB: 0 } });
      expect(check('staging', 'size_limit')?.thresholds).toEqual({ maxMiB: 50 });
      expect(check('staging', 'size_limit', 'generative')?.thresholds).toEqual({ maxMiB: 200 });
      expect(check('staging', 'size_limit', 'regression')?.thresholds).toEqual({ maxMiB: 10 });
      expect(check('production', 'latency')).toEqual({
        id: 'latency',
        severity: 'critical',
        thresholds: { runs: 100, warmupRuns: 6, batchSize: 1, maxP95Ms: 20, maxMemoryMiB: 0 },
      });
      expect(check('production', 'signature_trusted')).toEqual({ id: 'signature_trusted', severity: 'warning', thresholds: { required: true } });
    });

    it("keeps the parent's order, drops what null drops, runs new checks after, or right after the check `after` names", () => {
      const order = (stage: 'registered' | 'staging' | 'canary' | 'production') => policy.resolve(stage, 'classification').checks.map((entry) => entry.id);
      expect(order('registered')).toEqual(['files_intact', 'size_limit', 'latency', 'reported_metrics']);
      expect(order('staging')).toEqual(['files_intact', 'size_limit', 'latency', 'signature_trusted']);
      expect(order('canary')).toEqual(order('staging'));
      expect(order('production')).toEqual(['files_intact', 'onnx_parses', 'size_limit', 'latency', 'signature_trusted']);
    });

    it("merges settings down the chain, named dimensions by name, over the file's", () => {
      expect(policy.resolve('registered', 'other').settings).toMatchObject({ batchSize: 16, timeoutSeconds: 300, dimensions: { seq: 8, batch: 4 } });
      expect(policy.resolve('canary', 'other').settings).toMatchObject({ batchSize: 16, timeoutSeconds: 900, dimensions: { seq: 16, batch: 4 } });
      expect(policy.resolve('production', 'other').settings).toMatchObject({ batchSize: 16, timeoutSeconds: 900, dimensions: { seq: 16, batch: 4 } });
    });

    it('names every broken chain at once, with the other problems: cycles, unknown and absent parents, drops and placements of checks not run', () => {
      const problems = problemsOf({
        stages: {
          registered: { checks: { files_intact: {}, latency: null, model_loads: { after: 'smoke_run' } } },
          staging: { extends: 'canary', checks: { files_intact: {} } },
          canary: { extends: 'staging', checks: {} },
          production: { extends: 'registered', checks: { evaluation: null, schema_match: { after: 'schema_match' }, no_such_check: null } },
        },
      });
      expect(problems).toEqual([
        expect.stringContaining('stages.production.checks.no_such_check: unknown check "no_such_check"'),
        'stages.registered.checks.latency: null drops a check the stage extends, but registered extends no stage',
        'stages.registered.checks.model_loads.after: registered runs no check "smoke_run" (it runs: files_intact, model_loads)',
        'stages.canary.extends: the stages extend each other in a cycle (staging extends canary extends staging)',
        'stages.production.checks.evaluation: null drops a check the stage extends, but registered does not run evaluation',
        'stages.production.checks.schema_match.after: a check cannot run right after itself',
      ]);
      expect(problemsOf({ stages: { staging: { extends: 'nightly' }, canary: { extends: 'registered' }, production: { extends: 'staging', checks: { latency: null } } } })).toEqual(
        [
          'stages.staging.extends: unknown stage "nightly" (expected one of registered, staging, canary, production)',
          'stages.canary.extends: the policy has no stage "registered" (it has: staging, canary, production)',
        ],
      );
    });
  });

  it('resolves thresholds per task: check defaults, then the stage, then byTask', () => {
    const policy = GatePolicy.parse(
      { stages: { registered: { checks: { size_limit: { thresholds: { maxMiB: 10 }, byTask: { generative: { maxMiB: 20 } } }, evaluation: {} } } } },
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

  it('runs browser_compat for a version tagged runtime=browser, with its defaults or as the stage lists it, and for no other', () => {
    const policy = GatePolicy.load(shipped, GATE_CHECKS);
    for (const stage of policy.stageNames) {
      const browser = policy.resolve(stage, 'classification', { tags: { runtime: 'browser', team: 'web' } }).checks;
      expect(browser.at(-1)).toEqual({ id: 'browser_compat', severity: 'critical', thresholds: { maxAbsDiff: 1e-4 } });
      expect(browser.slice(0, -1)).toEqual(policy.resolve(stage, 'classification').checks);
      for (const tags of [{}, { runtime: 'server' }, { browser: 'runtime' }] as Record<string, string>[]) {
        expect(policy.resolve(stage, 'classification', { tags }).checks.map((check) => check.id)).not.toContain('browser_compat');
      }
    }
    const listed = GatePolicy.parse({ stages: { registered: { checks: { browser_compat: { thresholds: { maxAbsDiff: 0.01 } }, model_loads: {} } } } }, GATE_CHECKS);
    expect(listed.resolve('registered', 'other', { tags: { runtime: 'browser' } }).checks).toEqual([
      { id: 'browser_compat', severity: 'critical', thresholds: { maxAbsDiff: 0.01 } },
      { id: 'model_loads', severity: 'critical', thresholds: {} },
    ]);
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

  it("takes the sandbox's limits as settings, with defaults, and refuses one too small to start node in", () => {
    const policy = GatePolicy.parse({ settings: { memoryLimitMiB: 2048 }, stages: { registered: { checks: {}, settings: { cpuSeconds: 60 } } } }, GATE_CHECKS);
    expect(policy.resolve('registered', 'other').settings).toMatchObject({ memoryLimitMiB: 2048, cpuSeconds: 60, timeoutSeconds: 600 });
    expect(GatePolicy.parse({ stages: { registered: { checks: {} } } }, GATE_CHECKS).resolve('registered', 'other').settings).toMatchObject({
      memoryLimitMiB: 4096,
      cpuSeconds: 1800,
    });
    expect(problemsOf({ settings: { memoryLimitMiB: 128, cpuSeconds: 0, timeoutSeconds: 1.5 }, stages: { registered: { checks: {} } } })).toEqual([
      'settings.memoryLimitMiB: must be at least 256, not 128',
      'settings.cpuSeconds: must be at least 1, not 0',
      'settings.timeoutSeconds: must be a whole number, not 1.5',
    ]);
  });

  it('takes a list of whole numbers for a list threshold and names a bad one', () => {
    const policy = GatePolicy.parse({ stages: { registered: { checks: { batch_sizes: { thresholds: { batchSizes: [2, 8] } } } } } }, GATE_CHECKS);
    expect(policy.resolve('registered', 'other').checks[0].thresholds).toEqual({ batchSizes: [2, 8] });
    const bad = (batchSizes: unknown) => problemsOf({ stages: { registered: { checks: { batch_sizes: { thresholds: { batchSizes } } } } } });
    expect(bad([])).toEqual(['stages.registered.checks.batch_sizes.thresholds.batchSizes: must be a non-empty list of whole numbers, not []']);
    expect(bad([1, 2.5])).toEqual(['stages.registered.checks.batch_sizes.thresholds.batchSizes: each of [1,2.5] must be a whole number, not 2.5']);
    expect(bad([0])).toEqual(['stages.registered.checks.batch_sizes.thresholds.batchSizes: each of [0] must be at least 1, not 0']);
  });

  it('refuses a file that is not JSON, naming the file', () => {
    expect(() => GatePolicy.load(__filename, GATE_CHECKS)).toThrow(/gate policy .*gate-policy.spec.ts is invalid:\n {2}- not valid JSON/);
    expect(() => GatePolicy.load('/nonexistent/gates.json', GATE_CHECKS)).toThrow(/cannot read it/);
  });
});
