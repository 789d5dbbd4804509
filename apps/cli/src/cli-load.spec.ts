import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '../../..');
const BUILT = join(ROOT, 'dist/apps/cli/src');

/** Packages of the server side: Nest, the database and its drivers, S3, HTTP serving. */
const SERVER_PACKAGES = /\/node_modules\/(@nestjs|typeorm|pg|@electric-sql|@aws-sdk|express)\//;
/** What only some commands need, and costs a --help a lot to load. */
const HEAVY_PACKAGES = /\/node_modules\/(onnxruntime-node|onnx-proto|node-forge|class-validator|class-transformer)\//;

/**
 * Runs a fresh node on the build, so that what ends up in require.cache is what
 * the installed `gatehouse` loads (jest keeps its own module registry). It
 * loads the modules of `files`, then runs `argv`; it prints every module node
 * loaded, each with the first module outside node_modules that led to it.
 */
const LOADED_MODULES = `
const { join } = require('node:path');
const [dir, files, argv] = [process.argv[1], JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
for (const file of files) require(join(dir, file));
const sink = { write: () => true };
require(join(dir, 'cli.js')).runCli(argv, { stdout: sink, stderr: sink, env: {} }).then(() => {
  const via = (module) => (module && module.id.includes('/node_modules/') ? via(module.parent) : module && module.id);
  process.stdout.write(JSON.stringify(Object.values(require.cache).map((module) => ({ id: module.id, via: via(module.parent) }))));
});
`;

async function loadedModules(files: string[], argv: string[]): Promise<{ id: string; via: string | undefined }[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', LOADED_MODULES, BUILT, JSON.stringify(files), JSON.stringify(argv)], { cwd: ROOT });
  return JSON.parse(stdout) as { id: string; via: string | undefined }[];
}

/**
 * The compiled form of every CLI source file but main.ts, which runs the CLI on
 * the process's arguments when loaded and imports only cli.ts. A missing one
 * means the build is older than the sources.
 */
function builtCliModules(): string[] {
  const sources = readdirSync(__dirname).filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts') && file !== 'main.ts');
  const built = sources.map((file) => file.replace(/\.ts$/, '.js'));
  const missing = built.filter((file) => !existsSync(join(BUILT, file)));
  if (missing.length > 0) throw new Error(`${missing.join(', ')} missing from ${BUILT}: run "npm run build" first (npm test does)`);
  return built;
}

/** Each package among `modules` once, with what loaded it: `@nestjs/common (loaded by dist/libs/…)`. */
function packagesOf(modules: { id: string; via: string | undefined }[]): string[] {
  const named = modules.map((module) => {
    const [scope, name] = module.id.slice(module.id.indexOf('/node_modules/') + '/node_modules/'.length).split('/');
    return `${scope.startsWith('@') ? `${scope}/${name}` : scope} (loaded by ${module.via ? relative(ROOT, module.via) : 'the CLI'})`;
  });
  return [...new Set(named)];
}

describe('what the CLI loads (from dist)', () => {
  let cliModules: string[];
  beforeAll(() => {
    cliModules = builtCliModules();
  });

  it('loads no Nest, database, S3 or HTTP server package from any of its modules, the lazily loaded ones included', async () => {
    const modules = await loadedModules(cliModules, ['--help']);
    // The gate engine and the signing code, which commands load only when they run, are among them.
    expect(modules.some((module) => module.id.includes('/node_modules/onnxruntime-node/'))).toBe(true);
    expect(modules.some((module) => module.id.includes('/node_modules/node-forge/'))).toBe(true);
    expect(packagesOf(modules.filter((module) => SERVER_PACKAGES.test(module.id)))).toEqual([]);
  });

  it('prints --help without loading onnxruntime-node, node-forge or class-validator', async () => {
    const modules = await loadedModules([], ['--help']);
    expect(modules.some((module) => module.id.includes('/node_modules/commander/'))).toBe(true);
    expect(packagesOf(modules.filter((module) => HEAVY_PACKAGES.test(module.id)))).toEqual([]);
  });
});
