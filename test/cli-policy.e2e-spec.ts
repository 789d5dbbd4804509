import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { runCaptured } from './support/cli-runner';
import { startRegistry, type TestRegistry } from './support/registry';

/** Two stages, the second extending the first: it drops a check, tightens one and adds a warning. */
const POLICY = {
  settings: { timeoutSeconds: 300 },
  stages: {
    registered: {
      checks: {
        files_intact: {},
        artifact_scan: {},
        size_limit: { thresholds: { maxMiB: 100 }, byTask: { generative: { maxMiB: 150 } } },
        evaluation: { thresholds: { minAccuracy: 0.9 } },
      },
    },
    staging: {
      extends: 'registered',
      checks: { artifact_scan: null, evaluation: { thresholds: { required: true } }, signature_trusted: { severity: 'warning' } },
    },
  },
};

describe('gatehouse policy show', () => {
  let registry: TestRegistry;
  let workDir: string;
  let policyFile: string;
  let env: Record<string, string>;
  const gatehouse = (...argv: string[]) => runCaptured(argv, env, workDir);

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-policy-'));
    policyFile = join(workDir, 'team-gates.json');
    await writeFile(policyFile, JSON.stringify(POLICY));
    registry = await startRegistry('embedded', { GATE_POLICY: policyFile });
    // Any token may read the policy.
    const reader = await registry.admin.post('/v1/tokens', { name: 'auditor', roles: ['reader'] });
    env = { HOME: workDir, GATEHOUSE_CONFIG: join(workDir, 'config.json'), GATEHOUSE_URL: registry.url, GATEHOUSE_TOKEN: reader.body.token };
  });
  afterAll(async () => {
    await registry?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('prints each stage as a table of its checks in run order, with extends applied and thresholds for classification', async () => {
    const result = await gatehouse('policy', 'show');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [header, registered, staging, ...rest] = result.stdout.split('\n\n');
    expect(rest).toEqual([]);
    expect(header).toBe(`gate policy ${basename(policyFile)}, thresholds for classification`);

    const registeredLines = registered.split('\n');
    expect(registeredLines[0]).toBe('registered');
    expect(registeredLines[1]).toMatch(/^CHECK\s+SEVERITY\s+THRESHOLDS$/);
    expect(registeredLines.slice(3, 7).map((line) => line.split(/\s+/)[0])).toEqual(['files_intact', 'artifact_scan', 'size_limit', 'evaluation']);
    expect(registered).toMatch(/files_intact\s+critical\s+-\n/);
    expect(registered).toMatch(/size_limit\s+critical\s+maxMiB=100\n/);
    expect(registered).toMatch(/artifact_scan\s+critical\s+.*allowedGlobals=\[\]/);
    expect(registered).toMatch(/evaluation\s+critical\s+minAccuracy=0\.9 .*required=false/);
    expect(registered).toMatch(/\nsettings: .*timeoutSeconds=300/);

    expect(staging.split('\n')[0]).toBe('staging (extends registered)');
    expect(staging).not.toContain('artifact_scan');
    expect(staging).toMatch(/evaluation\s+critical\s+minAccuracy=0\.9 .*required=true/);
    expect(staging).toMatch(/signature_trusted\s+warning\s+required=false\n/);
  });

  it("shows one stage, for another task, and the registry's JSON for scripts", async () => {
    const generative = await gatehouse('policy', 'show', '--stage', 'staging', '--task', 'generative');
    expect(generative.code).toBe(0);
    expect(generative.stdout).toMatch(/^gate policy team-gates\.json, thresholds for generative\n\nstaging \(extends registered\)\n/);
    expect(generative.stdout).not.toMatch(/^registered$/m);
    expect(generative.stdout).toMatch(/size_limit\s+critical\s+maxMiB=150\n/);

    const fromApi = await registry.admin.get('/v1/gate-policy?stage=staging&task=generative');
    for (const argv of [
      ['--json', 'policy', 'show', '--stage', 'staging', '--task', 'generative'],
      ['policy', 'show', '--stage', 'staging', '--task', 'generative', '--json'],
    ]) {
      const json = await gatehouse(...argv);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual(fromApi.body);
    }
  });

  it("exits 1 with the registry's error for a stage the policy leaves out, or one that does not exist", async () => {
    const absent = await gatehouse('policy', 'show', '--stage', 'production');
    expect(absent.code).toBe(1);
    expect(absent.stdout).toBe('');
    expect(absent.stderr).toBe('error unknown_stage: the gate policy has no stage "production" (it has: registered, staging)\n');

    const unknown = await gatehouse('policy', 'show', '--stage', 'nightly');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error validation_failed: .*\n {2}stage: .*registered, staging, canary, production/);
  });
});
