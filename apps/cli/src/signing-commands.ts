import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_SIGNATURE_IGNORE_PATHS } from '@gatehouse/config';
import {
  buildStatement,
  compareWithFiles,
  parseBundle,
  parsePublicKey,
  publicKeyHint,
  readStatement,
  SignatureProblem,
  signStatement,
  verifyEnvelope,
  type OmsBundle,
} from '@gatehouse/integrity';
import { collectFiles, sha256OfFile, type LocalFile } from './local-files';
import { formatTable } from './output';
import type { ClientFactory, Printer } from './cli';
import { UsageError } from './references';


/** A verification that ran and failed: the finding is printed, the exit code is 1. */
export class VerificationFailed extends Error {}

const KEY_TYPES: Record<string, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
  'ec-p256': () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'ec-p384': () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'ec-p521': () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  ed25519: () => generateKeyPairSync('ed25519'),
  rsa: () => generateKeyPairSync('rsa', { modulusLength: 3072 }),
};

export async function readPrivateKey(path: string): Promise<KeyObject> {
  try {
    return createPrivateKey(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read a PEM private key from ${path}: ${(error as Error).message}`);
  }
}

/** Hashes the files of a directory for signing; symlinks are refused, as the format forbids them. */
export async function digestsForSigning(dir: string, exclude: string[]): Promise<{ files: LocalFile[]; digests: { path: string; sha256: string }[] }> {
  const { files, skippedSymlinks } = await collectFiles(dir);
  if (skippedSymlinks.length > 0) throw new UsageError(`cannot sign symlinks: ${skippedSymlinks.join(', ')}`);
  const kept = files.filter((file) => !exclude.includes(file.path));
  const digests = [];
  for (const file of kept) digests.push({ path: file.path, sha256: await sha256OfFile(file.absolutePath) });
  return { files: kept, digests };
}

/** The signature file's path relative to the model directory, if it lies inside it. */
export function insideDir(dir: string, file: string): string | undefined {
  const path = relative(resolve(dir), resolve(file));
  return path && !path.startsWith('..') && !path.startsWith(sep) ? path.split(sep).join('/') : undefined;
}

/** keys, sign, verify and signers; relative paths resolve against `cwd`. */
export function addSigningCommands(program: Command, client: ClientFactory, print: Printer, cwd: string): void {
  program
    .command('keys')
    .description('signing keys')
    .command('generate')
    .description('write a key pair: PREFIX.pem (private, mode 0600) and PREFIX.pub.pem')
    .addOption(new Option('--type <type>').choices(Object.keys(KEY_TYPES)).default('ec-p256'))
    .requiredOption('--out <prefix>', 'path prefix of the two files')
    .action(async (options: { type: string; out: string }) => {
      const { privateKey, publicKey } = KEY_TYPES[options.type]();
      const prefix = resolve(cwd, options.out);
      await writeFile(`${prefix}.pem`, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      await writeFile(`${prefix}.pub.pem`, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' });
      const fingerprint = publicKeyHint(publicKey);
      print({ privateKey: `${options.out}.pem`, publicKey: `${options.out}.pub.pem`, fingerprint }, () =>
        `wrote ${options.out}.pem and ${options.out}.pub.pem (${options.type}); fingerprint ${fingerprint}\n`,
      );
    });

  program
    .command('sign')
    .description('sign a model directory offline, writing an OpenSSF Model Signing bundle')
    .argument('<dir>')
    .requiredOption('--key <private.pem>')
    .option('--output <file>', 'where to write the bundle (default: DIR/model.sig)')
    .option('--model-name <name>', 'the statement subject (default: the directory name)')
    .action(async (target: string, options: { key: string; output?: string; modelName?: string }) => {
      const dir = resolve(cwd, target);
      const output = resolve(cwd, options.output ?? join(target, 'model.sig'));
      const inside = insideDir(dir, output);
      const { digests } = await digestsForSigning(dir, inside ? [inside] : []);
      const bundle = signStatement(buildStatement(options.modelName ?? basename(resolve(dir)), digests, inside ? [inside] : []), await readPrivateKey(resolve(cwd, options.key)));
      await writeFile(output, `${JSON.stringify(bundle, null, 2)}\n`);
      print({ bundle: output, files: digests.length }, () => `signed ${digests.length} files; bundle written to ${output}\n`);
    });

  program
    .command('verify')
    .description('verify a registered version on the server, or a directory on disk with --offline')
    .argument('[model@version]')
    .option('--offline <dir>', 'verify this directory locally instead')
    .option('--bundle <file>', 'with --offline: the signature bundle (default: DIR/model.sig)')
    .option('--key <public.pem>', 'with --offline: the signer\'s public key')
    .action(async (ref: string | undefined, options: { offline?: string; bundle?: string; key?: string }) => {
      if (options.offline) {
        const dir = resolve(cwd, options.offline);
        await verifyOffline(dir, resolve(cwd, options.bundle ?? join(options.offline, 'model.sig')), options.key && resolve(cwd, options.key), print);
        return;
      }
      if (!ref || !/^[^@]+@[^@]+$/.test(ref)) throw new UsageError('verify needs MODEL@VERSION, or --offline DIR --key KEY');
      const [model, version] = ref.split('@');
      const report = await (await client()).post<VerificationReport>(`/v1/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/verify`);
      print(report, () => {
        const signature = !report.signature.present
          ? 'signature: none'
          : report.signature.ok
            ? `signature: valid, by ${report.signature.signer}`
            : `signature: INVALID (${report.signature.reason}): ${report.signature.message}`;
        const table = formatTable(['PATH', 'STATUS', 'SHA-256'], report.files.map((f) => [f.path, f.status, f.actualSha256 ?? f.sha256]));
        return `${table}${signature}\n${report.ok ? 'verified' : 'VERIFICATION FAILED'}\n`;
      });
      if (!report.ok) throw new VerificationFailed();
    });

  const signers = program.command('signers').description('trusted signers (admin)');
  signers
    .command('add')
    .argument('<name>')
    .requiredOption('--key <public.pem>')
    .option('--expires <iso-time>')
    .action(async (name: string, options: { key: string; expires?: string }) => {
      const publicKey = await readFile(resolve(cwd, options.key), 'utf8');
      const signer = await (await client()).post<Signer>('/v1/signers', { name, publicKey, expiresAt: options.expires });
      print(signer, () => `trusted ${signer.name} (${signer.fingerprint})\n`);
    });
  signers.command('list').action(async () => {
    const list = await (await client()).get<Signer[]>('/v1/signers');
    print(list, () => formatTable(['ID', 'NAME', 'FINGERPRINT', 'EXPIRES', 'REVOKED'], list.map((s) => [s.id, s.name, s.fingerprint, s.expiresAt, s.revokedAt])));
  });
  signers
    .command('revoke')
    .argument('<id>')
    .action(async (id: string) => {
      const signer = await (await client()).post<Signer>(`/v1/signers/${encodeURIComponent(id)}/revoke`);
      print(signer, () => `revoked ${signer.name}\n`);
    });
}

interface Signer {
  id: string;
  name: string;
  fingerprint: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

interface VerificationReport {
  ok: boolean;
  files: { path: string; sha256: string; status: string; actualSha256?: string }[];
  signature: { present: boolean; ok: boolean; signer?: string; reason?: string; message?: string };
}

async function verifyOffline(dir: string, bundlePath: string, keyPath: string | undefined, print: Printer): Promise<void> {
  if (!keyPath) throw new UsageError('--offline needs --key PUBLIC.pem');
  let bundle: OmsBundle;
  try {
    bundle = parseBundle(JSON.parse(await readFile(bundlePath, 'utf8')));
  } catch (error) {
    if (error instanceof SignatureProblem) throw error;
    throw new UsageError(`cannot read a bundle from ${bundlePath}: ${(error as Error).message}`);
  }
  const inside = insideDir(dir, bundlePath);
  const failures: string[] = [];
  try {
    const key = parsePublicKey(await readFile(keyPath, 'utf8'));
    const hint = bundle.verificationMaterial.publicKey?.hint;
    if (hint && hint !== publicKeyHint(key)) throw new SignatureProblem('key_mismatch', 'the bundle names a different key than --key');
    verifyEnvelope(bundle, key);
    const statement = readStatement(bundle);
    const { digests } = await digestsForSigning(dir, inside ? [inside] : []);
    const comparison = compareWithFiles(statement, digests, [...DEFAULT_SIGNATURE_IGNORE_PATHS, ...(inside ? [inside] : [])]);
    failures.push(
      ...comparison.changed.map((c) => `changed: ${c.path}`),
      ...comparison.missing.map((p) => `missing: ${p}`),
      ...comparison.extra.map((p) => `not signed: ${p}`),
    );
  } catch (error) {
    if (!(error instanceof SignatureProblem)) throw error;
    failures.push(`${error.code}: ${error.message}`);
  }
  print({ ok: failures.length === 0, failures }, () => (failures.length === 0 ? `verified ${dir} against ${bundlePath}\n` : `VERIFICATION FAILED\n${failures.map((f) => `  ${f}`).join('\n')}\n`));
  if (failures.length > 0) throw new VerificationFailed();
}
