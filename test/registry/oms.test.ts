import assert from 'node:assert/strict';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  X509Certificate,
} from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { WardenError } from '../../src/core/errors.js';
import {
  BUNDLE_MEDIA_TYPE,
  hashModelDir,
  IN_TOTO_PAYLOAD_TYPE,
  keyHint,
  type OmsCheck,
  type OmsTrust,
  type OmsVerification,
  type OmsVerifyInput,
  PREDICATE_TYPE,
  pae,
  rootDigest,
  STATEMENT_TYPE,
  signOms,
  verifyOmsBundle,
} from '../../src/registry/oms/index.js';
import { makeCert, type TestCert } from './x509-builder.js';

// Tests run from dist/test/registry; the shared vectors live beside the repository root.
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/oms/', import.meta.url));
if (!existsSync(VECTORS)) throw new Error(`OMS vectors missing: expected ${VECTORS}`);

const vectorKey = createPublicKey(readFileSync(join(VECTORS, 'keys/signing-key-pub.pem')));
const rootCa = new X509Certificate(readFileSync(join(VECTORS, 'keys/ca-cert.pem')));
const intermediateCa = new X509Certificate(readFileSync(join(VECTORS, 'keys/int-ca-cert.pem')));
const KEY_TRUST: OmsTrust = { publicKeys: [vectorKey] };
const CERT_TRUST: OmsTrust = { rootCerts: [rootCa] };

interface Vector {
  readonly dir: string;
  readonly trust: OmsTrust;
  /** v1.0.x bundles record no ignore_paths; the reference's own test scripts pass these to its verifier. */
  readonly ignorePaths: readonly string[];
}

const VECTOR_LIST: readonly Vector[] = [
  { dir: 'v1.0.1-elliptic-key', trust: KEY_TRUST, ignorePaths: ['ignore-me', 'model.sig'] },
  { dir: 'v1.1.0-elliptic-key', trust: KEY_TRUST, ignorePaths: [] },
  { dir: 'v1.0.1-certificate', trust: CERT_TRUST, ignorePaths: ['ignore-me', 'model.sig'] },
  { dir: 'v1.1.0-certificate', trust: CERT_TRUST, ignorePaths: [] },
];
const byName = (dir: string): Vector => VECTOR_LIST.find((v) => v.dir === dir)!;

const scratch = mkdtempSync(join(tmpdir(), 'warden-oms-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;

function freshDir(): string {
  const dir = join(scratch, `m${scratchCount++}`);
  mkdirSync(dir);
  return dir;
}

/** A writable copy of a vector folder (the shared vectors are read-only). */
function copyVector(dir: string): string {
  const copy = freshDir();
  cpSync(join(VECTORS, dir), copy, { recursive: true });
  chmodSync(copy, 0o755);
  for (const f of readdirSync(copy)) chmodSync(join(copy, f), 0o644);
  return copy;
}

function bundleOf(dir: string): string {
  return readFileSync(join(VECTORS, dir, 'model.sig'), 'utf8');
}

function verifyVector(v: Vector, changes: Partial<OmsVerifyInput> = {}): Promise<OmsVerification> {
  return verifyOmsBundle({
    bundle: bundleOf(v.dir),
    modelDir: join(VECTORS, v.dir),
    trust: v.trust,
    ignorePaths: v.ignorePaths,
    ...changes,
  } as OmsVerifyInput);
}

function assertRejected(result: OmsVerification, check: OmsCheck, ...fragments: string[]): void {
  assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`);
  if (result.ok) return;
  assert.equal(result.check, check, result.reason);
  for (const f of fragments)
    assert.ok(result.reason.includes(f), `reason ${JSON.stringify(result.reason)} lacks ${f}`);
}

type Json = Record<string, unknown>;
const decodePayload = (bundle: Json): Json =>
  JSON.parse(Buffer.from((bundle.dsseEnvelope as Json).payload as string, 'base64').toString('utf8')) as Json;

/** Replaces a bundle's payload (re-encoded) and, when a key is given, re-signs it as the reference would. */
function withPayload(bundleText: string, statement: unknown, signer?: KeyObject): string {
  const bundle = JSON.parse(bundleText) as Json;
  const envelope = bundle.dsseEnvelope as Json;
  const payload = Buffer.from(JSON.stringify(statement, null, 2));
  envelope.payload = payload.toString('base64');
  if (signer !== undefined) {
    const hash = signer.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
    const sig = sign(hash, pae(IN_TOTO_PAYLOAD_TYPE, payload), { key: signer, dsaEncoding: 'der' });
    envelope.signatures = [{ sig: sig.toString('base64'), keyid: '' }];
  }
  return JSON.stringify(bundle);
}

function ecKeys(curve: 'P-256' | 'P-384'): { privateKey: KeyObject; publicKey: KeyObject; pem: string } {
  const pair = generateKeyPairSync('ec', { namedCurve: curve === 'P-256' ? 'prime256v1' : 'secp384r1' });
  const pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { ...pair, pem };
}

/** A small model folder with nested files, a git directory and room for a signature file. */
function sampleModel(): string {
  const dir = freshDir();
  mkdirSync(join(dir, 'weights'));
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, 'config.json'), '{"layers":2}\n');
  writeFileSync(join(dir, 'weights', 'part-1.bin'), Buffer.from([1, 2, 3, 4]));
  writeFileSync(join(dir, 'weights', 'part-2.bin'), Buffer.alloc(0));
  writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return dir;
}

describe('OMS reference vectors', () => {
  for (const v of VECTOR_LIST) {
    it(`${v.dir} verifies, and ignore-me is not covered`, async () => {
      const result = await verifyVector(v);
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.signer.kind, v.trust.publicKeys ? 'key' : 'certificate');
      assert.deepEqual(
        result.files.map((f) => f.path),
        ['signme-1', 'signme-2'],
      );
      assert.deepEqual(result.ignored, ['ignore-me', 'model.sig']);
      assert.equal(result.subject.name, v.dir);
      assert.ok(Object.isFrozen(result) && Object.isFrozen(result.files));
    });
  }

  it('reports the key signer by its OMS hint and the certificate signer with its chain', async () => {
    const key = await verifyVector(byName('v1.1.0-elliptic-key'));
    assert.ok(key.ok);
    assert.deepEqual(key.signer, {
      kind: 'key',
      fingerprint: 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e',
      curve: 'P-384',
    });
    const cert = await verifyVector(byName('v1.1.0-certificate'));
    assert.ok(cert.ok && cert.signer.kind === 'certificate');
    assert.deepEqual(
      cert.signer.chain.map((c) => c.issuer),
      ['CN=intermediate-ca', 'CN=root-ca', 'CN=root-ca'],
    );
    assert.equal(
      cert.signer.chain.at(-1)?.fingerprint,
      rootCa.fingerprint256.replace(/:/g, '').toLowerCase(),
    );
  });

  it('ignore-me is ignored: changing it does not break the signature', async () => {
    for (const dir of ['v1.0.1-elliptic-key', 'v1.1.0-certificate']) {
      const copy = copyVector(dir);
      writeFileSync(join(copy, 'ignore-me'), 'anything at all');
      const result = await verifyVector(byName(dir), { modelDir: copy });
      assert.ok(result.ok, JSON.stringify(result));
    }
  });

  it('a v1.0.x bundle records no ignore paths, so ignore-me is extra unless the caller names it', async () => {
    const result = await verifyVector(byName('v1.0.1-elliptic-key'), { ignorePaths: ['model.sig'] });
    assertRejected(result, 'files', 'not covered by the signature', '"ignore-me"');
  });

  it('a bundle carrying only its leaf certificate verifies with the intermediate supplied', async () => {
    const bundle = JSON.parse(bundleOf('v1.1.0-certificate')) as Json;
    const chain = (bundle.verificationMaterial as Json).x509CertificateChain as { certificates: unknown[] };
    chain.certificates = chain.certificates.slice(0, 1);
    const text = JSON.stringify(bundle);
    const v = byName('v1.1.0-certificate');
    assertRejected(await verifyVector(v, { bundle: text }), 'trust', 'does not lead to a trusted root');
    const ok = await verifyVector(v, {
      bundle: text,
      trust: { ...CERT_TRUST, intermediates: [intermediateCa] },
    });
    assert.ok(ok.ok, JSON.stringify(ok));
  });

  it('verifies against a manifest as well as a folder', async () => {
    const manifest = new Map([
      [
        'signme-1',
        createHash('sha256')
          .update(readFileSync(join(VECTORS, 'v1.1.0-elliptic-key/signme-1')))
          .digest('hex'),
      ],
      [
        'signme-2',
        createHash('sha256')
          .update(readFileSync(join(VECTORS, 'v1.1.0-elliptic-key/signme-2')))
          .digest('hex'),
      ],
      ['ignore-me', createHash('sha256').update('').digest('hex')],
    ]);
    const v = byName('v1.1.0-elliptic-key');
    const ok = await verifyOmsBundle({ bundle: bundleOf(v.dir), manifest, trust: KEY_TRUST });
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.deepEqual(ok.ignored, ['ignore-me']);
    manifest.set('signme-2', '0'.repeat(64));
    const bad = await verifyOmsBundle({ bundle: bundleOf(v.dir), manifest, trust: KEY_TRUST });
    assertRejected(bad, 'files', 'digest differs', '"signme-2"');
  });
});

describe('OMS tampering is rejected with a reason', () => {
  for (const dir of ['v1.1.0-elliptic-key', 'v1.0.1-certificate']) {
    const v = byName(dir);

    it(`${dir}: a changed byte in a covered file`, async () => {
      const copy = copyVector(dir);
      const file = join(copy, 'signme-1');
      const bytes = readFileSync(file);
      bytes[0] = bytes[0]! ^ 0x01;
      writeFileSync(file, bytes);
      assertRejected(await verifyVector(v, { modelDir: copy }), 'files', 'digest differs', '"signme-1"');
    });

    it(`${dir}: a missing covered file`, async () => {
      const copy = copyVector(dir);
      unlinkSync(join(copy, 'signme-2'));
      assertRejected(await verifyVector(v, { modelDir: copy }), 'files', 'missing', '"signme-2"');
    });

    it(`${dir}: an extra file`, async () => {
      const copy = copyVector(dir);
      mkdirSync(join(copy, 'extra'));
      writeFileSync(join(copy, 'extra', 'payload.bin'), 'not signed');
      assertRejected(
        await verifyVector(v, { modelDir: copy }),
        'files',
        'not covered',
        '"extra/payload.bin"',
      );
    });

    it(`${dir}: an edited DSSE payload`, async () => {
      const statement = decodePayload(JSON.parse(bundleOf(dir)) as Json);
      const predicate = statement.predicate as { resources: { digest: string }[] };
      const forged = createHash('sha256').update('forged weights').digest('hex');
      predicate.resources[0]!.digest = forged;
      (statement.subject as { digest: { sha256: string } }[])[0]!.digest.sha256 = rootDigest(
        predicate.resources.map((r) => r.digest),
      );
      const result = await verifyVector(v, { bundle: withPayload(bundleOf(dir), statement) });
      assertRejected(result, 'signature', 'does not verify');
    });

    it(`${dir}: a signature from another key`, async () => {
      const other = ecKeys('P-384');
      const statement = decodePayload(JSON.parse(bundleOf(dir)) as Json);
      const result = await verifyVector(v, {
        bundle: withPayload(bundleOf(dir), statement, other.privateKey),
      });
      assertRejected(result, 'signature', 'does not verify');
    });
  }

  it('a public key embedded in a v1.0.x bundle (rawBytes) is never trusted', async () => {
    const other = ecKeys('P-384');
    const bundle = JSON.parse(bundleOf('v1.0.1-elliptic-key')) as Json;
    const otherPem = other.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    (bundle.verificationMaterial as { publicKey: Json }).publicKey.rawBytes =
      Buffer.from(otherPem).toString('base64');
    const statement = decodePayload(bundle);
    const forged = withPayload(JSON.stringify(bundle), statement, other.privateKey);
    assertRejected(await verifyVector(byName('v1.0.1-elliptic-key'), { bundle: forged }), 'signature');
  });

  it('a well-formed bundle by a key that is not trusted', async () => {
    const other = ecKeys('P-256');
    const dir = sampleModel();
    const bundle = await signOms({ modelDir: dir, privateKey: other.pem });
    assertRejected(
      await verifyOmsBundle({ bundle, modelDir: dir, trust: KEY_TRUST }),
      'trust',
      'matches none',
    );
  });

  it('a chain to an untrusted CA', async () => {
    const otherRoot = makeCert({ subject: 'other-root', ca: true });
    const v = byName('v1.1.0-certificate');
    const result = await verifyVector(v, { trust: { rootCerts: [otherRoot.cert] } });
    assertRejected(result, 'trust', 'does not lead to a trusted root');

    const leaf = makeCert({ subject: 'signer', issuer: otherRoot, curve: 'P-384' });
    const dir = sampleModel();
    const bundle = await signOms({
      modelDir: dir,
      privateKey: pem(leaf),
      certificateChain: [leaf.pem, otherRoot.pem],
    });
    const forgedChain = await verifyOmsBundle({ bundle, modelDir: dir, trust: CERT_TRUST });
    assertRejected(forgedChain, 'trust', 'does not lead to a trusted root');
  });

  it('a key bundle needs trusted keys and a certificate bundle needs trusted roots', async () => {
    assertRejected(
      await verifyVector(byName('v1.1.0-elliptic-key'), { trust: CERT_TRUST }),
      'trust',
      'no keys',
    );
    assertRejected(
      await verifyVector(byName('v1.1.0-certificate'), { trust: KEY_TRUST }),
      'trust',
      'no root',
    );
  });

  it('bundle structure: media type, payload type and the single signature', async () => {
    const v = byName('v1.1.0-elliptic-key');
    const mutate = (f: (b: Json) => void): string => {
      const b = JSON.parse(bundleOf(v.dir)) as Json;
      f(b);
      return JSON.stringify(b);
    };
    const env = (b: Json) => b.dsseEnvelope as Json;
    const cases: [string, string][] = [
      [mutate((b) => (b.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.2')), 'mediaType'],
      [mutate((b) => (env(b).payloadType = 'application/json')), 'payloadType'],
      [mutate((b) => (env(b).signatures = [])), 'exactly one signature'],
      [mutate((b) => (env(b).payload = 'not base64!')), 'not base64'],
      [mutate((b) => delete b.dsseEnvelope), 'no dsseEnvelope'],
      ['{"mediaType":', 'not UTF-8 JSON'],
    ];
    for (const [bundle, fragment] of cases)
      assertRejected(await verifyVector(v, { bundle }), 'bundle', fragment);
  });

  it('statement checks on a correctly signed payload', async () => {
    const signer = ecKeys('P-256');
    const trust = { publicKeys: [signer.publicKey] };
    const v = byName('v1.1.0-elliptic-key');
    const base = (): Json => decodePayload(JSON.parse(bundleOf(v.dir)) as Json);
    const serialization = (s: Json) => (s.predicate as Json).serialization as Json;
    const cases: [(s: Json) => void, string][] = [
      [(s) => (s.predicateType = 'https://model_signing/Digests/v0.1'), 'predicateType'],
      [(s) => (s._type = 'https://in-toto.io/Statement/v0.1'), '_type'],
      [(s) => (serialization(s).method = 'shards'), '"shards" is not supported'],
      [(s) => (serialization(s).hash_type = 'blake2'), 'hash_type'],
      [(s) => (serialization(s).ignore_paths = ['../outside']), 'ignore_paths[0]'],
      [(s) => ((s.subject as Json[])[0]!.digest = { sha256: '0'.repeat(64) }), 'hash to'],
      [(s) => ((s.predicate as Json).resources = []), 'non-empty'],
    ];
    for (const [change, fragment] of cases) {
      const statement = base();
      change(statement);
      const bundle = withPayload(
        JSON.stringify({ ...JSON.parse(bundleOf(v.dir)), verificationMaterial: { publicKey: {} } }),
        statement,
        signer.privateKey,
      );
      assertRejected(await verifyVector(v, { bundle, trust }), 'statement', fragment);
    }
  });

  it('an expired chain is rejected; the same chain verifies at a time it was valid', async () => {
    const year = 365 * 86_400_000;
    const root = makeCert({ subject: 'old-root', ca: true, notBefore: new Date(Date.now() - 3 * year) });
    const leaf = makeCert({
      subject: 'old-signer',
      issuer: root,
      notBefore: new Date(Date.now() - 2 * year),
      notAfter: new Date(Date.now() - year),
    });
    const dir = sampleModel();
    const bundle = await signOms({ modelDir: dir, privateKey: pem(leaf), certificateChain: [leaf.pem] });
    const trust = { rootCerts: [root.cert] };
    assertRejected(
      await verifyOmsBundle({ bundle, modelDir: dir, trust }),
      'trust',
      '"CN=old-signer" is not valid at',
    );
    const then = new Date(Date.now() - 1.5 * year);
    assert.ok((await verifyOmsBundle({ bundle, modelDir: dir, trust, at: then })).ok);
  });

  it('a certificate that may not sign (no digitalSignature, no codeSigning) is rejected', async () => {
    const root = makeCert({ subject: 'usage-root', ca: true });
    const leaf = makeCert({ subject: 'no-usage', issuer: root, digitalSignature: false });
    const dir = sampleModel();
    const bundle = await signOms({ modelDir: dir, privateKey: pem(leaf), certificateChain: [leaf.pem] });
    const result = await verifyOmsBundle({ bundle, modelDir: dir, trust: { rootCerts: [root.cert] } });
    assertRejected(result, 'trust', 'may not sign');
  });
});

function pem(cert: TestCert): string {
  return cert.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

describe('signOms', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    it(`${curve} key: sign, write model.sig into the folder, verify`, async () => {
      const keys = ecKeys(curve);
      const dir = sampleModel();
      const bundle = await signOms({ modelDir: dir, privateKey: keys.pem, ignorePaths: ['model.sig'] });
      writeFileSync(join(dir, 'model.sig'), bundle);
      const result = await verifyOmsBundle({
        bundle,
        modelDir: dir,
        trust: { publicKeys: [keys.publicKey] },
      });
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(result.signer, { kind: 'key', fingerprint: keyHint(keys.publicKey), curve });
      assert.deepEqual(
        result.files.map((f) => f.path),
        ['config.json', 'weights/part-1.bin', 'weights/part-2.bin'],
      );
      assert.deepEqual(result.ignored, ['.git', 'model.sig']);
    });
  }

  it('writes the reference layout: v0.3 bundle, key hint, DSSE in-toto statement', async () => {
    const keys = ecKeys('P-384');
    const dir = sampleModel();
    const bundle = JSON.parse(
      await signOms({ modelDir: dir, privateKey: keys.pem, ignorePaths: ['model.sig'] }),
    ) as Json;
    const reference = JSON.parse(bundleOf('v1.1.0-elliptic-key')) as Json;
    assert.deepEqual(Object.keys(bundle), Object.keys(reference));
    assert.equal(bundle.mediaType, BUNDLE_MEDIA_TYPE);
    assert.deepEqual(bundle.verificationMaterial, {
      publicKey: { hint: keyHint(keys.publicKey) },
      tlogEntries: [],
    });
    const envelope = bundle.dsseEnvelope as Json;
    assert.equal(envelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
    assert.deepEqual(Object.keys((envelope.signatures as Json[])[0]!), ['sig', 'keyid']);
    const statement = decodePayload(bundle);
    assert.equal(statement._type, STATEMENT_TYPE);
    assert.equal(statement.predicateType, PREDICATE_TYPE);
    const predicate = statement.predicate as {
      serialization: Json;
      resources: { name: string; digest: string }[];
    };
    assert.deepEqual(predicate.serialization, {
      method: 'files',
      hash_type: 'sha256',
      allow_symlinks: false,
      ignore_paths: ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig'],
    });
    assert.equal(predicate.resources[0]?.digest, createHash('sha256').update('{"layers":2}\n').digest('hex'));
    const subject = (statement.subject as { name: string; digest: { sha256: string } }[])[0]!;
    assert.equal(subject.digest.sha256, rootDigest(predicate.resources.map((r) => r.digest)));
  });

  it('signs with a self-made certificate chain that verifies to its root', async () => {
    const root = makeCert({ subject: 'test-root', ca: true, curve: 'P-384' });
    const intermediate = makeCert({ subject: 'test-intermediate', issuer: root, ca: true });
    const leaf = makeCert({ subject: 'model-signer', issuer: intermediate, curve: 'P-384' });
    const dir = sampleModel();
    const bundle = await signOms({
      modelDir: dir,
      privateKey: pem(leaf),
      certificateChain: [leaf.pem, intermediate.pem],
    });
    const material = (JSON.parse(bundle) as Json).verificationMaterial as Json;
    assert.deepEqual(Object.keys(material), ['x509CertificateChain', 'tlogEntries']);
    const result = await verifyOmsBundle({ bundle, modelDir: dir, trust: { rootCerts: [root.cert] } });
    assert.ok(result.ok && result.signer.kind === 'certificate', JSON.stringify(result));
    assert.equal(result.signer.subject, 'CN=model-signer');
    assert.deepEqual(
      result.signer.chain.map((c) => c.subject),
      ['CN=model-signer', 'CN=test-intermediate', 'CN=test-root'],
    );
  });

  it('refuses a certificate that does not hold the signing key, and a non-EC key', async () => {
    const root = makeCert({ subject: 'mismatch-root', ca: true });
    const leaf = makeCert({ subject: 'someone-else', issuer: root });
    const dir = sampleModel();
    await assert.rejects(
      signOms({ modelDir: dir, privateKey: ecKeys('P-256').pem, certificateChain: [leaf.pem] }),
      (err: unknown) => err instanceof WardenError && err.message.includes('public half'),
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    await assert.rejects(
      signOms({ modelDir: dir, privateKey: rsa.toString() }),
      (err: unknown) => err instanceof WardenError && err.message.includes('ECDSA'),
    );
  });

  it('refuses ignore paths that leave the model folder', async () => {
    const dir = sampleModel();
    for (const bad of ['../elsewhere', '/etc', '.', 'a/../../b']) {
      await assert.rejects(
        signOms({ modelDir: dir, privateKey: ecKeys('P-256').pem, ignorePaths: [bad] }),
        (err: unknown) => err instanceof WardenError && err.message.includes('ignorePaths[0]'),
      );
    }
  });

  it('orders resources as the reference does (path components, so a/b before a-c)', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a-c'), '1');
    writeFileSync(join(dir, 'a', 'b'), '2');
    writeFileSync(join(dir, 'B'), '3');
    const manifest = await hashModelDir(dir);
    assert.deepEqual(
      manifest.files.map((f) => f.path),
      ['B', 'a/b', 'a-c'],
    );
  });

  it('ignores git paths only at the model root', async () => {
    const dir = sampleModel();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', '.gitignore'), '*.tmp\n');
    writeFileSync(join(dir, '.gitattributes'), '* binary\n');
    const manifest = await hashModelDir(dir);
    assert.ok(manifest.files.some((f) => f.path === 'sub/.gitignore'));
    assert.deepEqual(manifest.ignored, ['.git', '.gitattributes']);
    const all = await hashModelDir(dir, { ignoreGitPaths: false });
    assert.ok(all.files.some((f) => f.path === '.git/HEAD'));
  });
});

describe('model folder hashing', () => {
  it('streams a multi-chunk file to the same digest as hashing it whole', async () => {
    const dir = freshDir();
    const content = Buffer.alloc(2.5 * 1024 * 1024 + 7);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 12)) & 0xff;
    writeFileSync(join(dir, 'weights.bin'), content);
    const manifest = await hashModelDir(dir);
    assert.deepEqual(manifest.files, [
      {
        path: 'weights.bin',
        sha256: createHash('sha256').update(content).digest('hex'),
        size: content.length,
      },
    ]);
  });

  it('refuses symlinks unless allowed, then hashes the target under the link name', async () => {
    const dir = sampleModel();
    symlinkSync('config.json', join(dir, 'alias.json'));
    await assert.rejects(
      hashModelDir(dir),
      (err: unknown) => err instanceof WardenError && err.message.includes('"alias.json" is a symlink'),
    );
    const allowed = await hashModelDir(dir, { allowSymlinks: true });
    const digest = (p: string) => allowed.files.find((f) => f.path === p)?.sha256;
    assert.equal(digest('alias.json'), digest('config.json'));

    const keys = ecKeys('P-256');
    const plain = sampleModel();
    const bundle = await signOms({ modelDir: plain, privateKey: keys.pem });
    symlinkSync('config.json', join(plain, 'alias.json'));
    const result = await verifyOmsBundle({
      bundle,
      modelDir: plain,
      trust: { publicKeys: [keys.publicKey] },
    });
    assertRejected(result, 'files', 'symlink');
  });

  it('refuses to sign a folder with nothing left to sign', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'model.sig'), '{}');
    await assert.rejects(
      signOms({ modelDir: dir, privateKey: ecKeys('P-256').pem, ignorePaths: ['model.sig'] }),
      (err: unknown) => err instanceof WardenError && err.message.includes('no files to sign'),
    );
  });
});

describe('OMS signature property', () => {
  it('flipping any byte of the payload or of the signature fails verification', async () => {
    const keys = ecKeys('P-256');
    const dir = sampleModel();
    const bundle = JSON.parse(await signOms({ modelDir: dir, privateKey: keys.pem })) as Json;
    const envelope = bundle.dsseEnvelope as { payload: string; signatures: { sig: string }[] };
    const payload = Buffer.from(envelope.payload, 'base64');
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    const trust = { publicKeys: [keys.publicKey] };
    assert.ok((await verifyOmsBundle({ bundle: JSON.stringify(bundle), modelDir: dir, trust })).ok);

    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (inPayload, position, mask) => {
          const target = Buffer.from(inPayload ? payload : sig);
          const index = position % target.length;
          target[index] = target[index]! ^ mask;
          const copy = structuredClone(envelope);
          if (inPayload) copy.payload = target.toString('base64');
          else copy.signatures[0]!.sig = target.toString('base64');
          const result = await verifyOmsBundle({
            bundle: JSON.stringify({ ...bundle, dsseEnvelope: copy }),
            modelDir: dir,
            trust,
          });
          assert.equal(result.ok, false);
          assert.equal(result.ok === false && result.check, 'signature');
        },
      ),
      { numRuns: 200 },
    );
  });
});
