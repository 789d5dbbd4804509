import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ExitError, type CommandContext } from './command-context';
import type { Version } from './api-types';
import { apiPath } from './gatehouse-client';
import type { KeyOptions } from './local-signing';
import { formatTable } from './output';
import { UsageError } from './references';

const KEY_TYPES: Record<string, () => { privateKey: KeyObject; publicKey: KeyObject }> = {
  'ec-p256': () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  'ec-p384': () => generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  'ec-p521': () => generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  ed25519: () => generateKeyPairSync('ed25519'),
  rsa: () => generateKeyPairSync('rsa', { modulusLength: 3072 }),
};

/** `sign`'s MODEL@VERSION form: no path separator, one @. */
const REGISTERED_VERSION = /^[^@\s:/\\]+@[^@\s:/\\]+$/;

/** keys, sign, verify and signers. */
export function addSigningCommands(program: Command, { client, print, cwd }: CommandContext): void {
  program
    .command('keys')
    .description('signing keys')
    .command('generate')
    .description('write a key pair: PREFIX.pem (private, mode 0600) and PREFIX.pub.pem')
    .addOption(new Option('--type <type>').choices(Object.keys(KEY_TYPES)).default('ec-p256'))
    .requiredOption('--out <prefix>', 'path prefix of the files')
    .addOption(new Option('--certificate <how>', 'also write PREFIX.crt').choices(['self-signed', 'issued']))
    .option('--subject <common-name>', 'the certificate subject CN (default: the prefix name)')
    .option('--ca', 'a CA certificate, to issue signing certificates with')
    .option('--days <n>', 'certificate validity in days', '365')
    .option('--issuer-key <private.pem>', 'with --certificate issued: the CA key')
    .option('--issuer-cert <ca.crt>', 'with --certificate issued: the CA certificate')
    .action(async (options: KeyOptions) => {
      const { writeKeyFiles } = await import('./local-signing');
      const { certificate, fingerprint } = await writeKeyFiles(KEY_TYPES[options.type](), options, cwd);
      print(
        { privateKey: `${options.out}.pem`, publicKey: `${options.out}.pub.pem`, certificate: certificate ? `${options.out}.crt` : null, fingerprint },
        () => `wrote ${options.out}.pem, ${options.out}.pub.pem${certificate ? ` and ${options.out}.crt` : ''} (${options.type}); fingerprint ${fingerprint}\n`,
      );
    });

  program
    .command('sign')
    .description("sign a registered version (MODEL@VERSION) over the registry's manifest, or a model directory offline, writing an OpenSSF Model Signing bundle")
    .argument('<target>', 'MODEL@VERSION: sign the committed version; otherwise a directory (write ./NAME@X for a directory named like a version)')
    .requiredOption('--key <private.pem>', 'the signing key; it never leaves this machine')
    .option('--output <file>', 'with a directory: where to write the bundle (default: DIR/model.sig)')
    .option('--model-name <name>', 'with a directory: the statement subject (default: the directory name)')
    .option('--certificate <chain.pem>', 'sign as this certificate (then any intermediates), not as a bare key')
    .action(async (target: string, options: { key: string; output?: string; modelName?: string; certificate?: string }) => {
      const signer = { key: resolve(cwd, options.key), certificate: options.certificate ? resolve(cwd, options.certificate) : undefined };
      if (REGISTERED_VERSION.test(target)) {
        if (options.output || options.modelName) throw new UsageError('--output and --model-name go with a directory; MODEL@VERSION is signed on the registry');
        const [model, version] = target.split('@');
        const { signRegisteredFiles } = await import('./local-signing');
        const api = await client();
        const versionPath = `/v1/models/${apiPath(model, 'versions', version)}`;
        const registered = await api.get<Version>(versionPath);
        const bundle = await signRegisteredFiles(model, registered.files ?? [], signer);
        const signed = await api.post<SignedVersion>(`${versionPath}/signature`, { signature: bundle });
        print(signed, () => `signed ${target} (${registered.files?.length ?? 0} files, manifest ${signed.manifestDigest}) as ${signed.signature.signer}\n`);
        return;
      }
      const { signDirectory } = await import('./local-signing');
      const output = resolve(cwd, options.output ?? join(target, 'model.sig'));
      const signedFiles = await signDirectory(resolve(cwd, target), output, { ...signer, modelName: options.modelName });
      print({ bundle: output, files: signedFiles }, () => `signed ${signedFiles} files; bundle written to ${output}\n`);
    });

  program
    .command('verify')
    .description('verify a registered version on the server, or a directory on disk with --offline')
    .argument('[model@version]')
    .option('--offline <dir>', 'verify this directory locally instead')
    .option('--bundle <file>', 'with --offline: the signature bundle (default: DIR/model.sig)')
    .option('--key <public.pem>', "with --offline: the signer's public key")
    .option('--cert <trusted.crt>', 'with --offline: the certificate or CA root to trust, for certificate-signed bundles')
    .action(async (ref: string | undefined, options: { offline?: string; bundle?: string; key?: string; cert?: string }) => {
      if (options.offline) {
        const dir = resolve(cwd, options.offline);
        const trust = options.key ? { key: resolve(cwd, options.key) } : options.cert ? { cert: resolve(cwd, options.cert) } : undefined;
        if (!trust) throw new UsageError('--offline needs --key PUBLIC.pem or --cert TRUSTED.crt');
        const { verifyOffline } = await import('./local-signing');
        const bundlePath = resolve(cwd, options.bundle ?? join(options.offline, 'model.sig'));
        const failures = await verifyOffline(dir, bundlePath, trust);
        print({ ok: failures.length === 0, failures }, () =>
          failures.length === 0 ? `verified ${dir} against ${bundlePath}\n` : `VERIFICATION FAILED\n${failures.map((f) => `  ${f}`).join('\n')}\n`,
        );
        if (failures.length > 0) throw new ExitError(1);
        return;
      }
      if (!ref || !/^[^@]+@[^@]+$/.test(ref)) throw new UsageError('verify needs MODEL@VERSION, or --offline DIR --key KEY');
      const [model, version] = ref.split('@');
      const report = await (await client()).post<VerificationReport>(`/v1/models/${apiPath(model, 'versions', version)}/verify`);
      print(report, () => {
        const signature = !report.signature.present
          ? 'signature: none'
          : report.signature.ok
            ? `signature: valid, by ${report.signature.signer}`
            : `signature: INVALID (${report.signature.reason}): ${report.signature.message}`;
        const table = formatTable(
          ['PATH', 'STATUS', 'SHA-256'],
          report.files.map((f) => [f.path, f.status, f.actualSha256 ?? f.sha256]),
        );
        return `${table}${signature}\n${report.ok ? 'verified' : 'VERIFICATION FAILED'}\n`;
      });
      if (!report.ok) throw new ExitError(1);
    });

  const signers = program.command('signers').description('trusted signers (admin)');
  signers
    .command('add')
    .argument('<name>')
    .option('--key <public.pem>', 'trust a public key')
    .option('--cert <certificate.pem>', 'trust a certificate, or a CA root and what it issues')
    .option('--expires <iso-time>')
    .action(async (name: string, options: { key?: string; cert?: string; expires?: string }) => {
      if (!options.key === !options.cert) throw new UsageError('signers add needs exactly one of --key and --cert');
      const material = options.key ? { publicKey: await readFile(resolve(cwd, options.key), 'utf8') } : { certificate: await readFile(resolve(cwd, options.cert!), 'utf8') };
      const signer = await (await client()).post<Signer>('/v1/signers', { name, ...material, expiresAt: options.expires });
      print(signer, () => `trusted ${signer.name} (${signer.fingerprint})\n`);
    });
  signers.command('list').action(async () => {
    const list = await (await client()).get<Signer[]>('/v1/signers');
    print(list, () =>
      formatTable(
        ['ID', 'NAME', 'FINGERPRINT', 'EXPIRES', 'REVOKED'],
        list.map((s) => [s.id, s.name, s.fingerprint, s.expiresAt, s.revokedAt]),
      ),
    );
  });
  signers
    .command('revoke')
    .argument('<id>')
    .action(async (id: string) => {
      const signer = await (await client()).post<Signer>(`/v1/signers/${apiPath(id)}/revoke`);
      print(signer, () => `revoked ${signer.name}\n`);
    });
}

type SignedVersion = Version & { signature: { signer: string; fingerprint: string } };

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
