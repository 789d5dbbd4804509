import { access, constants } from 'node:fs/promises';
import { chromium, type Browser, type BrowserServer, type LaunchOptions } from 'playwright-core';

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

/** A browser one check run may use; `release` gives it back (closes it, or disconnects from a shared one). */
export interface BrowserLease {
  readonly browser: Browser;
  release(): Promise<void>;
}

/** Where a check gets its browser: launched for the run, or one a process outside the gate's sandbox keeps running. */
export interface BrowserSource {
  acquire(): Promise<BrowserLease>;
}

/** Launches Chromium for each lease and closes it on release. */
export class LaunchedChromium implements BrowserSource {
  constructor(private readonly executablePath = DEFAULT_CHROMIUM_PATH) {}

  async acquire(): Promise<BrowserLease> {
    const browser = await chromium.launch(await launchOptions(this.executablePath));
    return { browser, release: () => browser.close() };
  }
}

/**
 * Connects to a Chromium that {@link startChromiumServer} runs in another
 * process: Chromium reserves far more address space than a gate sandbox's
 * limit allows, so the sandboxed run borrows a browser started outside it.
 * Release disconnects and closes the contexts this lease opened; the browser stays.
 */
export class ConnectedChromium implements BrowserSource {
  constructor(private readonly wsEndpoint: string) {}

  async acquire(): Promise<BrowserLease> {
    const browser = await chromium.connect(this.wsEndpoint);
    return { browser, release: () => browser.close() };
  }
}

/**
 * Runs Chromium behind a Playwright server on the loopback interface; its
 * `wsEndpoint()` (an unguessable path: whoever knows it controls the browser)
 * is what {@link ConnectedChromium} takes. The caller closes the server.
 */
export async function startChromiumServer(executablePath = DEFAULT_CHROMIUM_PATH): Promise<BrowserServer> {
  return chromium.launchServer({ ...(await launchOptions(executablePath)), host: '127.0.0.1' });
}

async function launchOptions(executablePath: string): Promise<LaunchOptions> {
  try {
    await access(executablePath, constants.X_OK);
  } catch {
    throw new ChromiumMissingError(executablePath);
  }
  return { executablePath, headless: true, args: [...CHROMIUM_FLAGS] };
}
