import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, DEFAULT_CHROMIUM_PATH } from '@gatehouse/gate-engine';
import type { ApiClient } from './support/api-client';
import { registerValidated, startMonitoredRegistry, type MonitoredRegistry } from './support/canary-flow';
import { promoteAndSettle } from './support/promotion-flow';
import { until } from './support/wait';

/** Debian's Chromium (.ci/run installs it), headless as the gate's browser check runs it. */
const CHROMIUM = { executablePath: DEFAULT_CHROMIUM_PATH, args: [...CHROMIUM_FLAGS] };
/** Where the suite leaves its screenshots, for a person to look at (not compared by the test). */
const SCREENSHOTS = resolve(__dirname, '../artifacts/console');

/**
 * The web console in a real browser against a real registry seeded through the API: the registry serves the
 * built console at /, and the console reaches the registry only through /v1 with the signed-in token.
 */
describe('the web console', () => {
  let monitored: MonitoredRegistry;
  let engineer: ApiClient;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    monitored = await startMonitoredRegistry('embedded', { analysis: { enabled: false } });
    engineer = monitored.engineer;
    for (const [model, description, tags] of [
      ['fraud', 'card transaction fraud scores', ['payments', 'risk']],
      ['churn', 'who cancels next month', ['growth']],
    ] as const) {
      expect((await engineer.post('/v1/models', { name: model, description, tags })).status).toBe(201);
    }
    await registerValidated(engineer, monitored.releaseKey, 'fraud', '1.0.0');
    await registerValidated(engineer, monitored.releaseKey, 'fraud', '1.1.0');
    expect((await promoteAndSettle(engineer, [], { model: 'fraud', version: '1.0.0' }, 'production')).status).toBe('completed');
    expect((await promoteAndSettle(engineer, [], { model: 'fraud', version: '1.1.0' }, 'canary')).status).toBe('completed');
    await mkdir(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ ...CHROMIUM, headless: true });
  });
  beforeEach(async () => {
    page = await browser.newPage();
  });
  afterEach(() => page?.close());
  afterAll(async () => {
    await browser?.close();
    await monitored?.close();
  });

  const url = (path: string) => `${monitored.registry.url}${path}`;
  async function signIn(token: string) {
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('sends a deep link to sign-in, refuses a wrong token with the registry’s message, and comes back after', async () => {
    await page.goto(url('/models/fraud'));
    await page.waitForURL(/\/sign-in\?next=%2Fmodels%2Ffraud$/);
    await signIn('gh_not-a-token');
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/\S/);
    expect(new URL(page.url()).pathname).toBe('/sign-in');

    await signIn(engineer.token!);
    await page.waitForURL(url('/models/fraud'));
    await page.getByRole('heading', { level: 1, name: 'fraud' }).waitFor();
  });

  it('finds a model by search, with the versions holding its stages on its card', async () => {
    await page.goto(url('/sign-in'));
    await signIn(engineer.token!);
    await page.waitForURL(url('/models'));
    const cards = page.getByRole('list', { name: 'models' }).locator(':scope > li');
    await cards.first().waitFor();
    expect(await cards.locator('h2').allTextContents()).toEqual(['churn', 'fraud']);
    await page.screenshot({ path: join(SCREENSHOTS, 'models.png'), fullPage: true });

    await page.getByLabel('Search models').fill('transaction');
    await page.waitForURL(url('/models?search=transaction'));
    await cards.filter({ hasText: 'churn' }).waitFor({ state: 'detached' });
    expect(await cards.locator('h2').allTextContents()).toEqual(['fraud']);
    const card = cards.first();
    await card.getByText('1.0.0').waitFor();
    expect(await card.locator('dl').innerText()).toMatch(/staging\s+—\s+canary\s+1\.1\.0 · 10% of requests\s+production\s+1\.0\.0/i);
    expect(await card.getByRole('list', { name: 'tags' }).locator('li').allTextContents()).toEqual(['payments', 'risk']);

    await page.getByLabel('Search models').fill('nothing like it');
    await page.getByText('No model matches “nothing like it”.').waitFor();
  });

  it('shows a model’s stage board and versions, sorts them, and reloads on the same page', async () => {
    await page.goto(url('/sign-in?next=/models/fraud'));
    await signIn(engineer.token!);
    await page.waitForURL(url('/models/fraud'));
    const board = page.locator('.stage-board');
    await board.getByText('1.1.0').waitFor();
    expect(await board.getByRole('listitem', { name: 'production' }).innerText()).toMatch(/production\s+1\.0\.0/i);
    expect(await board.getByRole('listitem', { name: 'canary' }).innerText()).toMatch(/canary\s+1\.1\.0\s+10% of requests/i);
    expect(await board.getByRole('listitem', { name: 'staging' }).innerText()).toMatch(/staging\s+no version/i);
    // The table is its own query, and a sort re-renders after the click: wait for the order rather than read it once.
    const versionColumn = (order: string[]) =>
      until(async () => {
        const shown = await page.locator('tbody tr td:first-child').allTextContents();
        return shown.join() === order.join() ? shown : undefined;
      }, 10_000);
    await versionColumn(['1.1.0', '1.0.0']);
    await page.getByRole('button', { name: 'Version' }).click();
    await versionColumn(['1.1.0', '1.0.0']);
    await page.getByRole('button', { name: 'Version' }).click();
    await versionColumn(['1.0.0', '1.1.0']);
    await page.screenshot({ path: join(SCREENSHOTS, 'model.png'), fullPage: true });

    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'fraud' }).waitFor();
    await board.getByText('1.0.0').waitFor();
  });

  it('shows what a version records, and downloads its files as they were registered', async () => {
    await page.goto(url('/sign-in?next=/models/fraud'));
    await signIn(engineer.token!);
    await page.getByRole('link', { name: '1.0.0' }).click();
    await page.waitForURL(url('/models/fraud/versions/1.0.0'));
    await page.getByRole('heading', { level: 1, name: 'fraud@1.0.0' }).waitFor();
    const stored = (await engineer.get('/v1/models/fraud/versions/1.0.0')).body;
    const files = page.getByRole('region', { name: 'Files' });
    await files.getByText(stored.files[0].sha256).waitFor();
    expect(await files.locator('tbody tr').first().innerText()).toMatch(new RegExp(`model\\.onnx\\s+${stored.files[0].size} B\\s+${stored.files[0].sha256}`));
    expect(await page.locator('.facts').first().innerText()).toMatch(/Signature\s+signed by release \(key [0-9a-f]{16}…\)/);
    const datasets = page.getByRole('region', { name: 'Datasets' });
    expect(await datasets.locator('tbody tr').first().innerText()).toMatch(new RegExp(`fraud-eval@\\S+\\s+evaluation\\s+.*${stored.datasets[0].sha256}`));
    expect(await page.getByRole('region', { name: 'Schema' }).innerText()).toMatch(/declared at registration[\s\S]*input features float32 \[batch, 8\]/);
    await page.screenshot({ path: join(SCREENSHOTS, 'version.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), files.getByRole('button', { name: 'Download model.onnx' }).click()]);
    expect(download.suggestedFilename()).toBe('model.onnx');
    const saved = await readFile(await download.path());
    expect(createHash('sha256').update(saved).digest('hex')).toBe(stored.files[0].sha256);

    await page.goto(url('/models/fraud/versions/9.9.9'));
    await page
      .getByRole('alert')
      .getByText(/version_not_found \(404\)/)
      .waitFor();
  });

  it('passes axe’s WCAG 2.1 A and AA checks on every page, contrast included', async () => {
    // axe is injected as an inline script, which the console's own policy would refuse.
    const context = await browser.newContext({ bypassCSP: true });
    const audited = await context.newPage();
    try {
      const violations = async () => {
        await audited.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
        const results = await audited.evaluate<{ violations: { id: string; nodes: unknown[] }[] }>("axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })");
        return results.violations.map((violation) => `${violation.id} (${violation.nodes.length})`);
      };
      await audited.goto(url('/sign-in'));
      await audited.getByLabel('API token').waitFor();
      expect(await violations()).toEqual([]);
      await audited.getByLabel('API token').fill(engineer.token!);
      await audited.getByRole('button', { name: 'Sign in' }).click();
      for (const [path, ready] of [
        ['/models', 'fraud'],
        ['/models/fraud', 'Versions'],
        ['/models/fraud/versions/1.0.0', 'Files'],
      ]) {
        await audited.goto(url(path));
        await audited.getByRole('heading', { name: ready }).first().waitFor();
        expect({ path, violations: await violations() }).toEqual({ path, violations: [] });
      }
    } finally {
      await context.close();
    }
  });

  it('signs out, and goes back to sign-in when the registry stops taking the token', async () => {
    const minted = (await monitored.registry.admin.post('/v1/tokens', { name: 'short-lived', roles: ['reader'] })).body;
    await page.goto(url('/sign-in'));
    await signIn(minted.token);
    await page.waitForURL(url('/models'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    await page.goto(url('/models'));
    await page.waitForURL(/\/sign-in\?next=%2Fmodels$/);

    await signIn(minted.token);
    await page.waitForURL(url('/models'));
    expect((await monitored.registry.admin.post(`/v1/tokens/${minted.id}/revoke`)).status).toBe(200);
    await page.goto(url('/models/churn'));
    await page.waitForURL(/\/sign-in\?next=%2Fmodels%2Fchurn$/);
  });

  it('leaves the API, its documents and unknown API paths to the server', async () => {
    const api = await fetch(url('/v1/models'), { headers: { accept: 'text/html' } });
    expect(api.status).toBe(401);
    expect((await fetch(url('/docs/openapi.json'))).headers.get('content-type')).toMatch(/json/);
    const home = await fetch(url('/models/anything'), { headers: { accept: 'text/html' } });
    expect(home.status).toBe(200);
    expect(home.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await home.text()).toContain('<div id="root"></div>');
  });
});
