import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface CliConfig {
  url?: string;
  token?: string;
}

const DEFAULT_URL = 'http://localhost:8080';

export function configPath(env: Record<string, string | undefined>): string {
  return env.GATEHOUSE_CONFIG ?? join(env.HOME ?? homedir(), '.config', 'gatehouse', 'config.json');
}

export async function readCliConfig(path: string): Promise<CliConfig> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CliConfig;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** The token is a secret: the file is private to its owner. */
export async function writeCliConfig(path: string, config: CliConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
}

/** Flags beat environment, environment beats the saved file. */
export function resolveConnection(flags: { url?: string; token?: string }, env: Record<string, string | undefined>, saved: CliConfig): { url: string; token?: string } {
  return {
    url: flags.url ?? env.GATEHOUSE_URL ?? saved.url ?? DEFAULT_URL,
    token: flags.token ?? env.GATEHOUSE_TOKEN ?? saved.token,
  };
}
