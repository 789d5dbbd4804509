import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { writeExampleData } from './fixtures/example-data';
import { readmeCommandBlocks, readmeStartEnvironment, walkthroughScript } from './support/readme-commands';
import { freePort, startServerProcess, waitForHealth, type ServerProcess } from './support/server-process';

const CLI_ENTRY = resolve(__dirname, '../dist/apps/cli/src/main.js');
const WALKTHROUGH = 'Walkthrough: register, promote, roll back, audit lineage';

/**
 * The README's walkthrough, run exactly as printed: every `sh` block of its
 * section in order, in one bash shell, against the built server started in
 * a fresh directory with only the variables the section starts it with (so
 * `data/admin-token` is where the README says), with `gatehouse` on the PATH
 * as `npm link` puts it. The only
 * changes are the port (a free one for the README's 8080) and the shell's
 * strictness: any command that fails, and any HTTP error, stops the run.
 */
describe('the README walkthrough', () => {
  let workDir: string;
  let server: ServerProcess | undefined;
  let port: number;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'gatehouse-readme-'));
    await writeExampleData(join(workDir, 'example'));
    const bin = join(workDir, '.bin');
    await mkdir(bin);
    await writeFile(join(bin, 'gatehouse'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_ENTRY}" "$@"\n`);
    await chmod(join(bin, 'gatehouse'), 0o755);
    port = await freePort();
    server = startServerProcess({ ...readmeStartEnvironment(WALKTHROUGH), HOST: '127.0.0.1', PORT: String(port), HOME: workDir }, workDir);
    await waitForHealth(`http://127.0.0.1:${port}`, server);
  });
  afterAll(async () => {
    if (server && server.process.exitCode === null) {
      server.process.kill('SIGTERM');
      await server.exited;
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('reads the sh blocks of one section and its subsections only, in order, past blocks of shown output', () => {
    const markdown = [
      '## Before',
      '```sh',
      'echo not this section',
      '```',
      '## Walk',
      '```sh',
      'echo one',
      '```',
      '````text',
      '```sh',
      'echo shown, not run',
      '```',
      '````',
      '```sh http',
      'echo two',
      '```',
      '### Inner',
      '```sh',
      'echo three',
      '```',
      '## After',
      '```sh',
      'echo not this either',
      '```',
    ].join('\n');
    expect(readmeCommandBlocks('Walk', markdown)).toEqual([
      { info: 'sh', line: 6, code: 'echo one\n' },
      { info: 'sh http', line: 14, code: 'echo two\n' },
      { info: 'sh', line: 18, code: 'echo three\n' },
    ]);
    expect(readmeCommandBlocks('Inner', markdown)).toEqual([{ info: 'sh', line: 18, code: 'echo three\n' }]);
    expect(readmeStartEnvironment('Walk', markdown)).toEqual({});
    expect(readmeStartEnvironment('Walk', `## Walk\n\`\`\`text\nPOLICY=a/b.json WINDOW=1 npm start\n\`\`\`\n`)).toEqual({ POLICY: 'a/b.json', WINDOW: '1' });
    expect(() => readmeCommandBlocks('Walk', '## Walk\n```sh\necho never closed\n')).toThrow(/line 2 is never closed/);
  });

  it('finds the commands in README.md', () => {
    const blocks = readmeCommandBlocks(WALKTHROUGH);
    expect(blocks.filter((block) => block.info === 'sh').length).toBeGreaterThanOrEqual(5);
    expect(blocks.filter((block) => block.info === 'sh http').length).toBeGreaterThanOrEqual(3);
    expect(readmeStartEnvironment(WALKTHROUGH)).toEqual({ MONITORING_POLICY: 'example/monitoring.json', TELEMETRY_WINDOW_SECONDS: '1' });
  });

  it('registers, signs, promotes with two approvers, rolls back and audits lineage, from the CLI and over HTTP', async () => {
    const script = walkthroughScript(readmeCommandBlocks(WALKTHROUGH)).replaceAll('localhost:8080', `localhost:${port}`);
    await writeFile(join(workDir, 'walkthrough.sh'), script);
    const run = await runBash(join(workDir, 'walkthrough.sh'), workDir, {
      HOME: workDir,
      PATH: [join(workDir, '.bin'), process.env.PATH ?? ''].join(delimiter),
    });
    if (run.code !== 0) throw new Error(`the walkthrough stopped with exit code ${run.code}:\n${tail(run.output)}`);

    expect(run.output).toMatch(/fraud production: 1\.2\.0 rolled back, 1\.1\.0 serves again/);
    // 1.2.0 reached production through a canary analysis of the replayed traffic, which passed.
    expect(run.output).toMatch(/fraud: \d+ observations accepted in \d+ rounds; analysis \S+ of fraud@1\.2\.0: passed/);
    // Its outcome as an outsider sees it: 1.3.0 was rolled back over HTTP, and 1.1.0 serves again.
    const admin = { authorization: `Bearer ${(await readFile(join(workDir, 'data', 'admin-token'), 'utf8')).trim()}` };
    const stages = (await (await fetch(`http://127.0.0.1:${port}/v1/models/fraud/stages`, { headers: admin })).json()) as { stages: { production: { version: string } } };
    expect(stages.stages.production.version).toBe('1.1.0');
    const lineage = (await (await fetch(`http://127.0.0.1:${port}/v1/models/fraud/versions/1.3.0/lineage?direction=up&depth=5`, { headers: admin })).json()) as {
      edges: unknown[];
    };
    expect(lineage.edges).toEqual(expect.arrayContaining([expect.objectContaining({ relation: 'retrained_from' })]));
    const versions = ['1.1.0', '1.2.0', '1.3.0'];
    for (const version of versions) {
      const body = (await (await fetch(`http://127.0.0.1:${port}/v1/models/fraud/versions/${version}`, { headers: admin })).json()) as { status: string; signature: unknown };
      expect(body.status).toBe('validated');
      expect(body.signature).toBeTruthy();
    }
  }, 1_200_000);
});

function runBash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('bash', [script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => done({ code, output }));
  });
}

/** The end of a long output, where a failure shows. */
function tail(output: string, lines = 80): string {
  return output.split('\n').slice(-lines).join('\n');
}
