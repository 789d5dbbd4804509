import { standardFixtures } from './fixtures/onnx-models';
import { checkResult, finishedGate, registerVersion } from './support/model-registration';
import { startRegistry, type TestRegistry } from './support/registry';

const classifier = standardFixtures().classifier.model;

/** A version tagged runtime=browser is served in web pages: its gates run browser_compat in Chromium though no stage of the policy lists it. */
describe('versions tagged runtime=browser', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry('embedded', { GATE_WORKERS: '1', GATE_POLL_MS: '50' });
  });
  afterAll(() => registry?.close());

  it('run browser_compat in their gates, and versions without the tag do not', async () => {
    const base = { model: 'web-scorer', task: 'classification' as const, files: { 'model.onnx': classifier.bytes }, schema: classifier.schema };
    expect((await registerVersion(registry.admin, { ...base, version: '1.0.0', tags: { runtime: 'browser' } })).status).toBe(200);
    expect((await registerVersion(registry.admin, { ...base, version: '1.1.0', tags: { runtime: 'server' } })).status).toBe(200);

    const browser = await finishedGate(registry.admin, 'web-scorer', '1.0.0', 120_000);
    expect(browser.status).toBe('passed');
    expect(checkResult(browser, 'browser_compat')).toMatchObject({ status: 'passed', severity: 'critical', threshold: 0.0001 });
    expect(browser.policy.checks.map((check: { id: string }) => check.id)).toContain('browser_compat');

    const server = await finishedGate(registry.admin, 'web-scorer', '1.1.0', 120_000);
    expect(server.status).toBe('passed');
    expect(server.report.results.map((result: { id: string }) => result.id)).not.toContain('browser_compat');
  }, 240_000);
});
