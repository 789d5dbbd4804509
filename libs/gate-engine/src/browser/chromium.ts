import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { unlimitedLauncher } from '../sandbox/sandbox-limits';

/** Where Debian's `chromium` package installs it (CI installs it there: .ci/run); Playwright downloads no browser here. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Headless, without a GPU, and nothing fetched behind the check's back
 * (background requests, component updates). `--no-sandbox` because gate
 * hosts run as root, where Chromium's own sandbox refuses to start; the page
 * runs only the check's script and onnxruntime-web, never code from the model.
 */
export const CHROMIUM_FLAGS: readonly string[] = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

export class ChromiumMissingError extends Error {
  constructor(readonly executablePath: string) {
    super(`Chromium is not installed at ${executablePath}: install it (apt-get install chromium) on the host that runs this gate`);
    this.name = 'ChromiumMissingError';
  }
}

/** A browser one check run may use; `release` gives it back (closes it, or leaves a shared one open). */
export interface BrowserLease {
  readonly browser: Browser;
  release(): Promise<void>;
}

/** Where a check gets its browser: launched for the run, or one its host keeps for several. */
export interface BrowserSource {
  acquire(): Promise<BrowserLease>;
}

/**
 * Launches Chromium for each lease and closes it on release. Inside a gate
 * sandbox the browser would inherit the model's memory limit, which it cannot
 * start under (it reserves and commits far more than a model's budget), so it
 * starts through the sandbox's launcher that lifts that limit for it alone.
 */
/** Where a Unix socket's path stays short whatever TMPDIR says. */
const SHORT_TMP = '/tmp';

export class LaunchedChromium implements BrowserSource {
  constructor(private readonly executablePath = DEFAULT_CHROMIUM_PATH) {}

  async acquire(): Promise<BrowserLease> {
    await access(this.executablePath, constants.X_OK).catch(() => {
      throw new ChromiumMissingError(this.executablePath);
    });
    const scratch = await mkdtemp(join(tmpdir(), 'gatehouse-chromium-'));
    // Chromium puts its singleton socket under TMPDIR, and a Unix socket's path holds at most 107 bytes: the
    // sandbox's TMPDIR, deep in the registry's gate workspace, is too long ("Socket path too long"), so it gets a short one.
    const socketDir = await mkdtemp(join(SHORT_TMP, 'gh-chromium-'));
    const removeSocketDir = () => rm(socketDir, { recursive: true, force: true });
    try {
      const executablePath = await unlimitedLauncher(this.executablePath, scratch);
      // Loaded here, not with the module: Playwright takes 0.4 s to load, and every gate's sandbox would pay it.
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_FLAGS], env: { ...process.env, TMPDIR: socketDir } });
      return {
        browser,
        release: async () => {
          await browser.close();
          await removeSocketDir();
        },
      };
    } catch (error) {
      await removeSocketDir();
      throw error;
    } finally {
      // The launcher script has exec'd Chromium by the time launch settles: nothing needs it any more.
      await rm(scratch, { recursive: true, force: true });
    }
  }
}
