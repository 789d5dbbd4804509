import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jsonLines, standardFixtures, type ModelFixture } from '../../../../test/fixtures/onnx-models';
import { endlessLoopModel, memoryHogModel } from '../../../../test/fixtures/sandbox-models';
import { GATE_CHECKS } from '../checks';
import { GateContext } from '../gate-context';
import { GateEngine, type GateProgress } from '../gate-engine';
import { GatePolicy, type StagePolicy } from '../gate-policy';
import { renderMarkdown } from '../gate-report';
import type { GateSettings } from '../gate-settings';
import { runInSandbox, SandboxError } from './gate-sandbox';
import { limitOptions, nodeCodeReservationBytes, PRLIMIT, sandboxCommand, unlimitedCommand, unlimitedLauncher } from './sandbox-limits';
import type { SandboxRequest } from './sandbox-protocol';

const run = promisify(execFile);
const fixtures = standardFixtures();
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const BUILT_CHILD = join(__dirname, '../../../../dist/libs/gate-engine/src/sandbox/gate-child.js');
const MIB = 1024 * 1024;

/** The registration checks that say the same on every run (no timings), then those that do not. */
const STABLE_CHECKS = ['files_intact', 'artifact_scan', 'onnx_parses', 'weights_finite', 'model_loads', 'smoke_run', 'evaluation'];

let directory: string;
let workspace: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gatehouse-sandbox-spec-'));
  workspace = join(directory, 'files');
  await mkdir(workspace);
});
afterEach(() => rm(directory, { recursive: true, force: true }));

function stagePolicy(checks: string[], settings: Partial<GateSettings> = {}): StagePolicy {
  const policy = GatePolicy.parse({ settings, stages: { registered: { checks: Object.fromEntries(checks.map((id) => [id, {}])) } } }, GATE_CHECKS);
  return policy.resolve('registered', 'classification');
}

/** A request for `model` written to the workspace, with the classifier's evaluation data. */
async function request(model: ModelFixture, policy: StagePolicy): Promise<SandboxRequest> {
  await writeFile(join(workspace, 'model.onnx'), model.bytes);
  const evaluation = join(directory, 'evaluation.jsonl');
  await writeFile(evaluation, jsonLines(fixtures.classifier.evaluation));
  return {
    subject: {
      model: 'sandboxed',
      version: '1.0.0',
      task: 'classification',
      declaredSchema: model.schema,
      reportedMetrics: {},
      files: [{ path: 'model.onnx', sha256: sha256(model.bytes), size: model.bytes.length }],
    },
    workspace,
    datasets: [{ role: 'evaluation', name: 'eval', path: evaluation }],
    policy,
  };
}

/** A child program of the test's own, speaking the sandbox's protocol: it reads the request and runs `body` with it as `request`. */
async function testEntry(body: string): Promise<string> {
  const path = join(directory, `entry-${Math.random().toString(36).slice(2)}.js`);
  await writeFile(
    path,
    `const channel = new (require('node:net').Socket)({ fd: 3, readable: false, writable: true });
const send = (message) => channel.write(JSON.stringify(message) + '\\n');
const finish = (message) => channel.end(JSON.stringify(message) + '\\n', () => process.exit(0));
let received = '';
process.stdin.setEncoding('utf8').on('data', async (chunk) => {
  received += chunk;
  if (!received.endsWith('\\n')) return;
  const request = JSON.parse(received);
  ${body}
});`,
  );
  return path;
}

function sandboxResultOf(report: Awaited<ReturnType<typeof runInSandbox>>) {
  return report.results.find((result) => result.id === 'sandbox');
}

describe('runInSandbox', () => {
  it('gives the report and the progress the engine gives in this process, with the sandbox process resources added', async () => {
    const policy = stagePolicy(STABLE_CHECKS);
    const heard: { sandboxed: GateProgress[]; inProcess: GateProgress[] } = { sandboxed: [], inProcess: [] };
    const sandboxed = await runInSandbox(await request(fixtures.classifier.model, policy), { scratchParent: directory, onProgress: (progress) => heard.sandboxed.push(progress) });
    const given = await request(fixtures.classifier.model, policy);
    const inProcess = await new GateEngine(GATE_CHECKS).run(new GateContext(given.subject, given.workspace, given.datasets, policy.settings), policy, (progress) =>
      heard.inProcess.push(progress),
    );
    const steps = (progress: GateProgress[]) => progress.map(({ event, check, index, total }) => ({ event, check, index, total }));
    expect(steps(heard.sandboxed)).toEqual(steps(heard.inProcess));
    expect(steps(heard.sandboxed)).toHaveLength(2 * STABLE_CHECKS.length);

    // All but timings: model_loads' value is its load time, evaluation's details hold its duration.
    const comparable = (report: typeof sandboxed) =>
      report.results.map(({ id, family, severity, status, message, threshold, recommendation }) => ({ id, family, severity, status, message, threshold, recommendation }));
    expect(comparable(sandboxed)).toEqual(comparable(inProcess));
    const accuracy = (report: typeof sandboxed) => report.results.find((result) => result.id === 'evaluation')!.value;
    expect(accuracy(sandboxed)).toBe(accuracy(inProcess));
    expect(sandboxed).toMatchObject({ verdict: 'passed', healthScore: inProcess.healthScore, summary: inProcess.summary, failedChecks: [] });
    const sandbox = sandboxed.resources.sandbox!;
    // Node and onnxruntime alone take tens of MiB.
    expect(sandbox.peakRssBytes).toBeGreaterThan(30 * MIB);
    expect(sandbox.cpuTimeMs).toBeGreaterThan(0);
    expect(sandbox.servingEstimateBytes).toBe(Math.round(sandbox.peakRssBytes * 1.5));
    expect(sandbox.recommendedContainer).toMatch(/^(256Mi|512Mi|1Gi)$/);
    expect(renderMarkdown(sandboxed)).toContain(`(peak × 1.5): a ${sandbox.recommendedContainer} container holds it.`);
    expect(sandbox.limits).toEqual({ memoryLimitMiB: policy.settings.memoryLimitMiB, cpuSeconds: policy.settings.cpuSeconds, timeoutSeconds: policy.settings.timeoutSeconds });
    // Its HOME and TMPDIR are gone with it.
    expect((await readdir(directory)).filter((name) => name.startsWith('gatehouse-sandbox-'))).toEqual([]);
  });

  it('fails a model whose run asks for far more memory than the limit, with a sandbox result naming the check and the limit', async () => {
    const policy = stagePolicy(['files_intact', 'onnx_parses', 'model_loads', 'smoke_run'], { memoryLimitMiB: 1024 });
    const report = await runInSandbox(await request(memoryHogModel(), policy));

    expect(report.verdict).toBe('failed');
    expect(report.results.map((result) => [result.id, result.status])).toEqual([
      ['files_intact', 'passed'],
      ['onnx_parses', 'passed'],
      ['model_loads', 'passed'],
      ['smoke_run', 'failed'],
      ['sandbox', 'failed'],
    ]);
    expect(report.failedChecks).toContain('sandbox');
    expect(sandboxResultOf(report)).toMatchObject({
      severity: 'critical',
      value: 'allocation failed',
      threshold: '1024 MiB',
      message: expect.stringMatching(
        /^`smoke_run` could not allocate the memory the model asked for within the sandbox's 1024 MiB \(settings\.memoryLimitMiB\): .*Failed to allocate memory/,
      ),
      details: { ending: 'allocation', check: 'smoke_run' },
      recommendation: expect.stringContaining('settings.memoryLimitMiB'),
    });
  });

  it('stops a run at its wall-clock limit and reports the checks that finished and the one that was running', async () => {
    const policy = stagePolicy(['files_intact', 'onnx_parses', 'model_loads', 'smoke_run', 'evaluation'], { timeoutSeconds: 3 });
    const report = await runInSandbox(await request(endlessLoopModel(), policy));

    expect(report.results.map((result) => [result.id, result.status])).toEqual([
      ['files_intact', 'passed'],
      ['onnx_parses', 'passed'],
      ['model_loads', 'passed'],
      ['sandbox', 'failed'],
    ]);
    expect(report).toMatchObject({ verdict: 'failed', failedChecks: ['sandbox'] });
    expect(sandboxResultOf(report)).toMatchObject({
      value: 'timeout',
      threshold: '3 s',
      message: 'the gate run was still going after its 3 s limit (settings.timeoutSeconds) while `smoke_run` ran, so the sandbox stopped it',
      details: { ending: 'timeout', during: 'smoke_run' },
    });
    expect(report.durationMs).toBeGreaterThanOrEqual(3000);
    // Measured from /proc while it ran, since it never reported.
    expect(report.resources.sandbox!.peakRssBytes).toBeGreaterThan(30 * MIB);
  });

  it('fails a run that uses up its CPU time, named by the signal the kernel sent', async () => {
    const policy = stagePolicy(['model_loads', 'smoke_run'], { cpuSeconds: 1, timeoutSeconds: 120 });
    const report = await runInSandbox(await request(endlessLoopModel(), policy));

    expect(sandboxResultOf(report)).toMatchObject({
      value: 'SIGXCPU',
      threshold: '1 s CPU',
      message: 'the run used up its 1 s of CPU time (settings.cpuSeconds) while `smoke_run` ran, and the kernel stopped it with SIGXCPU',
      details: { ending: 'cpu_limit', signal: 'SIGXCPU' },
    });
    expect(report.verdict).toBe('failed');
  });

  it("gives the child none of this process's environment, the version's files as its working directory, and soft limits", async () => {
    process.env.GATEHOUSE_SANDBOX_SPEC_SECRET = 'postgres://registry:secret@db/gatehouse';
    try {
      const entry = await testEntry(`
        const limits = require('node:fs').readFileSync('/proc/self/limits', 'utf8');
        finish({ report: { results: [], resources: {}, probe: { env: process.env, cwd: process.cwd(), limits } }, usage: { cpuTimeMs: 1, maxRssBytes: 1 } });`);
      const report = await runInSandbox(await request(fixtures.classifier.model, stagePolicy(['files_intact'], { memoryLimitMiB: 512, cpuSeconds: 77 })), {
        entry,
        scratchParent: directory,
      });
      const { env, cwd, limits } = (report as unknown as { probe: { env: Record<string, string>; cwd: string; limits: string } }).probe;

      expect(Object.keys(env).sort()).toEqual(['HOME', 'LANG', 'PATH', 'TMPDIR']);
      expect(env.HOME.startsWith(join(directory, 'gatehouse-sandbox-'))).toBe(true);
      expect(env.TMPDIR.startsWith(join(directory, 'gatehouse-sandbox-'))).toBe(true);
      expect(cwd).toBe(workspace);
      expect(limits).toMatch(new RegExp(`^Max data size\\s+${512 * MIB + (await nodeCodeReservationBytes())}\\s+unlimited\\s+bytes`, 'm'));
      expect(limits).toMatch(/^Max cpu time\s+77\s+unlimited\s+seconds/m);
    } finally {
      delete process.env.GATEHOUSE_SANDBOX_SPEC_SECRET;
    }
  });

  it("loads only the code its policy's checks run: no scanner, browser runtime or Playwright for a gate that only evaluates", async () => {
    // The real child, which writes down every module it loaded as it exits.
    const loadedModules = async (checks: string[]) => {
      const listing = join(directory, `loaded-${checks.join('-')}.json`);
      const entry = join(directory, `listing-${checks.join('-')}.js`);
      await writeFile(
        entry,
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(listing)}, JSON.stringify(Object.keys(require.cache))));
require(${JSON.stringify(BUILT_CHILD)});`,
      );
      const report = await runInSandbox(await request(fixtures.classifier.model, stagePolicy(checks)), { entry });
      expect(report.results.map((result) => [result.id, result.status])).toEqual(checks.map((id) => [id, 'passed']));
      return (JSON.parse(await readFile(listing, 'utf8')) as string[]).map((path) => path.replace(/^.*?\/(dist|node_modules)\//, '$1/'));
    };
    const scanner = /^dist\/libs\/artifact-scan\/|^node_modules\/(fzstd|seek-bzip|xz-decompress)\//;
    const browser = /^dist\/libs\/gate-engine\/src\/browser\/onnx-web-runtime\.js$|^node_modules\/playwright-core\//;

    const evaluating = await loadedModules(['model_loads', 'evaluation']);
    expect(evaluating).toContain('node_modules/onnxruntime-node/dist/index.js');
    expect(evaluating.filter((path) => scanner.test(path) || browser.test(path))).toEqual([]);
    // The listing does see what a check loads when it runs.
    expect((await loadedModules(['artifact_scan'])).filter((path) => scanner.test(path))).toContain('dist/libs/artifact-scan/src/index.js');
  });

  it('names running out of memory when the child dies of an allocation the limit refused', async () => {
    const entry = await testEntry(`
      send({ progress: { event: 'finished', check: 'files_intact', index: 0, total: 2, result: { id: 'files_intact', status: 'passed' } } });
      const hoard = [];
      for (;;) hoard.push(new Array(1e6).fill(Math.random()));`);
    const report = await runInSandbox(await request(fixtures.classifier.model, stagePolicy(['files_intact', 'model_loads'], { memoryLimitMiB: 256 })), { entry });

    expect(sandboxResultOf(report)).toMatchObject({
      value: 'SIGABRT',
      threshold: '256 MiB',
      message: expect.stringMatching(/^the run needed more memory than the sandbox's 256 MiB \(settings\.memoryLimitMiB\) while `model_loads` ran/),
      details: { ending: 'memory_limit', during: 'model_loads', signal: 'SIGABRT', stderr: expect.stringContaining('Allocation failed') },
    });
    expect(report.results.map((result) => result.id)).toEqual(['files_intact', 'sandbox']);
  });

  it('names a native crash by its signal', async () => {
    const entry = await testEntry(`process.kill(process.pid, 'SIGSEGV');`);
    const report = await runInSandbox(await request(fixtures.classifier.model, stagePolicy(['model_loads'])), { entry });
    expect(sandboxResultOf(report)).toMatchObject({
      value: 'SIGSEGV',
      message: 'the sandbox crashed with SIGSEGV (an invalid memory access) while `model_loads` ran: a native fault in onnxruntime or in the operators the model uses',
      details: { ending: 'crash' },
    });
  });

  it('carries a report far larger than a pipe holds', async () => {
    const entry = await testEntry(`finish({ report: { results: [], resources: {}, padding: 'x'.repeat(8 * 1024 * 1024) }, usage: { cpuTimeMs: 1, maxRssBytes: 1 } });`);
    const report = await runInSandbox(await request(fixtures.classifier.model, stagePolicy(['files_intact'])), { entry });
    expect((report as unknown as { padding: string }).padding).toHaveLength(8 * 1024 * 1024);
  });

  it("treats an engine failure as the sandbox's own error, not a verdict on the model", async () => {
    const entry = await testEntry(`finish({ error: { name: 'Error', message: 'the policy names check "nope", which this engine does not have' } });`);
    await expect(runInSandbox(await request(fixtures.classifier.model, stagePolicy(['files_intact'])), { entry })).rejects.toThrow(SandboxError);
  });

  it('kills the whole process group when aborted, and rejects with the reason', async () => {
    const pidFile = join(directory, 'grandchild.pid');
    const entry = await testEntry(`
      const sleeper = require('node:child_process').spawn('sleep', ['600'], { stdio: 'ignore' });
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(sleeper.pid));`);
    const controller = new AbortController();
    const running = runInSandbox(await request(fixtures.classifier.model, stagePolicy(['files_intact'])), { entry, signal: controller.signal });
    const grandchild = await waitForPid(pidFile);
    controller.abort(new Error('shutting down'));

    await expect(running).rejects.toThrow('shutting down');
    expect(await isGone(grandchild)).toBe(true);
  });

  it('runs a child that ends when its parent dies, even while a model run holds its main thread', async () => {
    const given = await request(endlessLoopModel(), stagePolicy(['model_loads', 'smoke_run'], { timeoutSeconds: 600 }));
    // A parent of the test's own: starts the child as the sandbox does, says its pid once the model is loaded, then is killed.
    const { command, args } = sandboxCommand(given.policy.settings, await nodeCodeReservationBytes(), BUILT_CHILD);
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const [command, args, request] = JSON.parse(process.argv[1]);
         const child = require('node:child_process').spawn(command, args, { detached: true, stdio: ['pipe', 'ignore', 'ignore', 'pipe'] });
         child.stdio[3].once('data', () => process.stdout.write(String(child.pid)));
         child.stdin.write(JSON.stringify(request) + '\\n');`,
        JSON.stringify([command, args, given]),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const child = await new Promise<number>((done) => parent.stdout.once('data', (pid: Buffer) => done(Number(pid.toString()))));
    parent.kill('SIGKILL');
    expect(await isGone(child)).toBe(true);
  });
});

describe('the memory limit', () => {
  it("starts node under the smallest memory limit a policy takes, on this node version's own reservations", async () => {
    const reserved = await nodeCodeReservationBytes();
    expect(Number.isSafeInteger(reserved) && reserved >= 0).toBe(true);
    const started = await run(PRLIMIT, [...limitOptions({ memoryLimitMiB: 256, cpuSeconds: 30 }, reserved), '--', process.execPath, '-e', 'process.stdout.write("started")']);
    expect(started.stdout).toBe('started');
    expect(limitOptions({ memoryLimitMiB: 256, cpuSeconds: 30 }, reserved)).toEqual([`--data=${256 * MIB + reserved}:`, '--cpu=30:']);
  });
});

describe('lifting the memory limit for a helper process', () => {
  const underLimit = (command: string, args: string[]) => run(PRLIMIT, [`--data=${256 * MIB}:`, '--', command, ...args]);

  it('runs a command with the data limit lifted, through prlimit', async () => {
    const lifted = unlimitedCommand('/bin/cat', ['/proc/self/limits']);
    const { stdout } = await underLimit(lifted.command, lifted.args);
    expect(stdout).toMatch(/^Max data size\s+unlimited\s+unlimited\s+bytes/m);
    expect((await underLimit('/bin/cat', ['/proc/self/limits'])).stdout).toMatch(new RegExp(`^Max data size\\s+${256 * MIB}\\s`, 'm'));
  });

  it('writes a launcher that passes its arguments on to the executable, lifted', async () => {
    const launcher = await unlimitedLauncher('/bin/cat', directory);
    const { stdout } = await underLimit(launcher, ['/proc/self/limits']);
    expect(stdout).toMatch(/^Max data size\s+unlimited\s+unlimited\s+bytes/m);
  });
});

async function waitForPid(path: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text) return Number(text);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} never appeared`);
}

/** Whether the process has ended within a few seconds: no longer in /proc, or a zombie waiting for whoever adopted it. */
async function isGone(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
