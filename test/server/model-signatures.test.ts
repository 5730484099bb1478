import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signOms } from '../../src/registry/oms/index.js';
import { makeCert } from '../registry/x509-builder.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type TestServer, testServer } from '../support/runtime.js';
import { tarFiles, uploadVersion } from '../support/tar.js';

// Tests run from dist/test/server; the shared vectors live beside the repository root.
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/oms/', import.meta.url));
if (!existsSync(VECTORS)) throw new Error(`OMS vectors missing: expected ${VECTORS}`);
const read = (path: string) => readFileSync(join(VECTORS, path));
const KEY_PEM = read('keys/signing-key-pub.pem').toString();
const ROOT_PEM = read('keys/ca-cert.pem').toString();

/** The reference vectors; v1.0.x bundles record no ignore paths, so only the covered files are uploaded. */
const VECTOR_LIST = [
  { dir: 'v1.0.1-elliptic-key', kind: 'key', files: ['signme-1', 'signme-2'] },
  { dir: 'v1.1.0-elliptic-key', kind: 'key', files: ['signme-1', 'signme-2', 'ignore-me'] },
  { dir: 'v1.0.1-certificate', kind: 'root', files: ['signme-1', 'signme-2'] },
  { dir: 'v1.1.0-certificate', kind: 'root', files: ['signme-1', 'signme-2', 'ignore-me'] },
] as const;

const filesOf = (dir: string, names: readonly string[]) =>
  Object.fromEntries(names.map((n) => [n, read(`${dir}/${n}`)]));
const bundleOf = (dir: string) => JSON.parse(read(`${dir}/model.sig`).toString()) as Record<string, unknown>;

for (const dialect of await backends()) {
  describe(`OMS signatures over HTTP on ${dialect}`, () => {
    let s: TestServer;
    let model: string;
    const signers: Record<string, string> = {};
    const scratch = mkdtempSync(join(tmpdir(), 'warden-sig-'));

    async function newVersion(files: Record<string, string | Buffer>): Promise<string> {
      const res = await uploadVersion(s, model, tarFiles(files));
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id;
    }

    const attach = (version: string, bundle: unknown) =>
      s.inject({ method: 'POST', url: `/api/v1/model-versions/${version}/signatures`, body: bundle });

    async function assertRejected(version: string, bundle: unknown, check: string, fragment: RegExp) {
      const res = await attach(version, bundle);
      assert.equal(res.statusCode, 400, res.body);
      const { error } = res.json();
      assert.match(error.message, new RegExp(`^signature rejected \\(${check}\\)`));
      assert.match(error.message, fragment);
      const shown = await s.inject({ method: 'GET', url: `/api/v1/model-versions/${version}` });
      assert.equal(shown.json().signed, false);
      assert.deepEqual(shown.json().signatures, []);
      const events = await allEvents(s, `action=model_version.attach&resourceId=${version}&outcome=failed`);
      assert.ok(
        events.some((e) => (e.event?.details as { check?: string } | undefined)?.check === check),
        `no failed attach event with check ${check}`,
      );
    }

    before(async () => {
      s = await testServer(dialect);
      for (const body of [
        { method: 'POST', url: '/api/v1/projects', body: { id: 'oms' } },
        { method: 'POST', url: '/api/v1/projects/oms/models', body: { name: 'vectors' } },
      ]) {
        const res = await s.inject(body);
        assert.equal(res.statusCode, 201, res.body);
        if (body.url.endsWith('/models')) model = res.json().id;
      }
      for (const [kind, pem] of [
        ['key', KEY_PEM],
        ['root', ROOT_PEM],
      ] as const) {
        const res = await s.inject({
          method: 'POST',
          url: '/api/v1/projects/oms/signers',
          body: { name: `vectors ${kind}`, kind, pem },
        });
        assert.equal(res.statusCode, 201, res.body);
        signers[kind] = res.json().id;
      }
    });
    after(async () => {
      rmSync(scratch, { recursive: true, force: true });
      await s.close();
    });

    for (const v of VECTOR_LIST) {
      it(`accepts the reference bundle ${v.dir} on a version of its files, naming the trusted signer`, async () => {
        const version = await newVersion(filesOf(v.dir, v.files));
        const res = await attach(version, bundleOf(v.dir));
        assert.equal(res.statusCode, 201, res.body);
        const sig = res.json();
        assert.equal(sig.signer.id, signers[v.kind]);
        assert.equal(sig.verified.kind, v.kind === 'key' ? 'key' : 'certificate');
        assert.deepEqual(
          sig.ignored,
          (v.files as readonly string[]).includes('ignore-me') ? ['ignore-me'] : [],
        );
        const shown = (await s.inject({ method: 'GET', url: `/api/v1/model-versions/${version}` })).json();
        assert.equal(shown.signed, true);
        assert.equal(shown.signatures[0].id, sig.id);
        const again = await attach(version, bundleOf(v.dir));
        assert.equal(again.statusCode, 409, again.body);
        const events = await allEvents(
          s,
          `action=model_version.attach&resourceId=${version}&outcome=succeeded&wait=integrated`,
        );
        assert.equal(events.length, 1);
        const details = events[0]?.event?.details as { signer: { id: string }; bundleDigest: string };
        assert.equal(details.signer.id, signers[v.kind]);
        assert.equal(details.bundleDigest, sig.bundleDigest);
        assert.equal(events[0]?.event?.context?.project, 'oms');
      });
    }

    it('rejects a changed byte in a covered file', async () => {
      const files = filesOf('v1.1.0-elliptic-key', ['signme-1', 'signme-2']);
      const changed = Buffer.from(files['signme-1'] as Buffer);
      changed[0] = (changed[0] ?? 0) ^ 1;
      const version = await newVersion({ ...files, 'signme-1': changed });
      await assertRejected(
        version,
        bundleOf('v1.1.0-elliptic-key'),
        'files',
        /digest differs for "signme-1"/,
      );
    });

    it('rejects a missing covered file and an extra uncovered file', async () => {
      const missing = await newVersion(filesOf('v1.1.0-certificate', ['signme-1']));
      await assertRejected(missing, bundleOf('v1.1.0-certificate'), 'files', /missing "signme-2"/);
      const extra = await newVersion({
        ...filesOf('v1.1.0-certificate', ['signme-1', 'signme-2']),
        'weights.bin': 'not signed',
      });
      await assertRejected(
        extra,
        bundleOf('v1.1.0-certificate'),
        'files',
        /not covered by the signature "weights.bin"/,
      );
      // Git paths get no default pass: what is uploaded must be signed or named in the bundle's ignore paths.
      const git = await newVersion({
        ...filesOf('v1.0.1-elliptic-key', ['signme-1', 'signme-2']),
        '.gitattributes': '*',
      });
      await assertRejected(
        git,
        bundleOf('v1.0.1-elliptic-key'),
        'files',
        /not covered by the signature ".gitattributes"/,
      );
    });

    it('rejects an edited payload', async () => {
      const version = await newVersion(filesOf('v1.1.0-elliptic-key', ['signme-1', 'signme-2']));
      const bundle = bundleOf('v1.1.0-elliptic-key');
      const envelope = bundle.dsseEnvelope as { payload: string };
      const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
      statement.predicate.resources[0].digest = '0'.repeat(64);
      envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
      await assertRejected(version, bundle, 'signature', /does not verify/);
    });

    it('rejects a bundle signed with another key', async () => {
      const dir = join(scratch, 'other-key');
      rmSync(dir, { recursive: true, force: true });
      const files = filesOf('v1.1.0-elliptic-key', ['signme-1', 'signme-2']);
      mkdirSync(dir);
      for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
      const key = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      const bundle = await signOms({
        modelDir: dir,
        privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      });
      const version = await newVersion(files);
      await assertRejected(version, JSON.parse(bundle), 'trust', /matches none of the trusted keys/);
    });

    it('rejects a certificate chain that does not lead to a trusted root, and a revoked signer', async () => {
      const other = await s.inject({ method: 'POST', url: '/api/v1/projects', body: { id: 'oms-other' } });
      assert.equal(other.statusCode, 201, other.body);
      const otherRoot = makeCert({ subject: 'unrelated-root', ca: true });
      const added = await s.inject({
        method: 'POST',
        url: '/api/v1/projects/oms-other/signers',
        body: { name: 'unrelated', kind: 'root', pem: otherRoot.pem },
      });
      assert.equal(added.statusCode, 201, added.body);
      const m = await s.inject({
        method: 'POST',
        url: '/api/v1/projects/oms-other/models',
        body: { name: 'm' },
      });
      const up = await uploadVersion(
        s,
        m.json().id,
        tarFiles(filesOf('v1.1.0-certificate', ['signme-1', 'signme-2'])),
      );
      assert.equal(up.statusCode, 201, up.body);
      await assertRejected(up.json().id, bundleOf('v1.1.0-certificate'), 'trust', /./);

      const revoke = await s.inject({
        method: 'POST',
        url: `/api/v1/projects/oms/signers/${signers.key}/revoke`,
        body: { reason: 'rotated' },
      });
      assert.equal(revoke.statusCode, 200, revoke.body);
      const version = await newVersion(filesOf('v1.1.0-elliptic-key', ['signme-1', 'signme-2', 'ignore-me']));
      await assertRejected(version, bundleOf('v1.1.0-elliptic-key'), 'trust', /no keys are trusted/);
    });

    it('refuses a malformed bundle naming the bundle check', async () => {
      const version = await newVersion(filesOf('v1.1.0-certificate', ['signme-1', 'signme-2']));
      await assertRejected(version, { mediaType: 'nothing' }, 'bundle', /./);
    });

    it('accepts a bundle made by warden model sign (signOms) with a P-256 key the project trusts', async () => {
      const dir = join(scratch, 'own');
      mkdirSync(join(dir, 'weights'), { recursive: true });
      writeFileSync(join(dir, 'config.json'), '{}');
      writeFileSync(join(dir, 'weights', 'w.bin'), Buffer.from([1, 2, 3]));
      const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const bundle = await signOms({
        modelDir: dir,
        privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      });
      const added = await s.inject({
        method: 'POST',
        url: '/api/v1/projects/oms/signers',
        body: {
          name: 'ci',
          kind: 'key',
          pem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        },
      });
      assert.equal(added.statusCode, 201, added.body);
      const version = await newVersion({ 'config.json': '{}', 'weights/w.bin': Buffer.from([1, 2, 3]) });
      const res = await attach(version, JSON.parse(bundle));
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().signer.id, added.json().id);
    });
  });
}
