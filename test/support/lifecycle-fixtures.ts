import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { canonicalJson, newId } from '../../src/core/index.js';
import { hashModelDir, signOms } from '../../src/registry/oms/index.js';
import { BlobStore } from '../../src/store/index.js';
import type { TestServer } from './runtime.js';

/** An ECDSA P-256 key pair as PEM. */
export function ecKeyPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

/** A project trusting one fresh signing key (through the API); returns the key and the signer id. */
export async function projectWithSigner(
  s: TestServer,
  id: string,
  body: Record<string, unknown> = {},
): Promise<{ key: { privateKey: string; publicKey: string }; signer: string }> {
  const created = await s.inject({ method: 'POST', url: '/api/v1/projects', body: { id, ...body } });
  assert.equal(created.statusCode, 201, created.body);
  const key = ecKeyPair();
  const signer = await s.inject({
    method: 'POST',
    url: `/api/v1/projects/${id}/signers`,
    body: { name: 'release', kind: 'key', pem: key.publicKey },
  });
  assert.equal(signer.statusCode, 201, signer.body);
  return { key, signer: signer.json().id };
}

/** A model row in a project (directly in the store). */
export async function seedModel(
  s: TestServer,
  project: string,
  name: string,
  createdBy: string,
): Promise<string> {
  const id = newId();
  await s.rt.store.db
    .insertInto('models')
    .values({
      id,
      project_id: project,
      name,
      description: null,
      created_by: createdBy,
      created_ms: Date.now(),
    })
    .execute();
  return id;
}

/** How a seeded version is made. */
export interface VersionSeed {
  readonly project: string;
  readonly model: string;
  readonly createdBy: string;
  readonly createdByType?: 'user' | 'service';
  /** File contents by path (default: a small weights file and a config). */
  readonly files?: Readonly<Record<string, string>>;
  /** Signs the files with this key and stores the bundle against this project signer. */
  readonly sign?: { readonly privateKey: string; readonly signer: string };
  /** Attaches a provenance statement: complete unless `missing` names parts to leave out. */
  readonly provenance?: {
    readonly metrics?: Readonly<Record<string, number>>;
    readonly trainer?: string;
    readonly missing?: readonly ('builder' | 'metrics' | 'environment')[];
  };
  readonly stage?: 'registered' | 'staging' | 'production' | 'retired';
}

/**
 * A model version inserted directly: files stored as blobs and listed in model_files, optionally a
 * real OMS bundle over the files (made by signOms) and an in-toto SLSA provenance statement.
 */
export async function seedVersion(s: TestServer, seed: VersionSeed): Promise<{ id: string; digest: string }> {
  const files = seed.files ?? { 'weights.bin': `weights ${newId()}`, 'config.json': '{"layers": 2}' };
  const dir = await mkdtemp(join(tmpdir(), 'warden-fixture-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const hashed = await hashModelDir(dir);
    const blobs = new BlobStore(s.rt.config.blobDir);
    for (const content of Object.values(files)) await blobs.put(Buffer.from(content));
    const manifest = hashed.files
      .map((f) => ({ path: f.path, digest: `sha256:${f.sha256}`, size: f.size }))
      .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
    const digestHex = createHash('sha256')
      .update(canonicalJson({ files: manifest }))
      .digest('hex');
    const db = s.rt.store.db;
    const last = await db
      .selectFrom('model_versions')
      .select((eb) => eb.fn.max('number').as('n'))
      .where('model_id', '=', seed.model)
      .executeTakeFirst();
    const now = Date.now();
    const id = newId(now);
    const provenance = seed.provenance ? statement(digestHex, seed.provenance) : null;
    await db
      .insertInto('model_versions')
      .values({
        id,
        model_id: seed.model,
        project_id: seed.project,
        number: Number(last?.n ?? 0) + 1,
        manifest_digest: `sha256:${digestHex}`,
        total_bytes: manifest.reduce((n, f) => n + f.size, 0),
        file_count: manifest.length,
        stage: seed.stage ?? 'registered',
        revision: 0,
        created_by: seed.createdBy,
        created_by_type: seed.createdByType ?? 'service',
        created_ms: now,
        provenance: provenance === null ? null : JSON.stringify(provenance),
        provenance_digest:
          provenance === null
            ? null
            : `sha256:${createHash('sha256').update(JSON.stringify(provenance)).digest('hex')}`,
        trainer: seed.provenance?.trainer ?? null,
        stage_changed_ms: now,
        stage_rationale: null,
      })
      .execute();
    await db
      .insertInto('model_files')
      .values(manifest.map((f) => ({ version_id: id, ...f })))
      .execute();
    if (seed.sign) {
      const bundle = await signOms({ modelDir: dir, privateKey: seed.sign.privateKey });
      await db
        .insertInto('model_signatures')
        .values({
          id: newId(),
          version_id: id,
          bundle_digest: `sha256:${createHash('sha256').update(bundle).digest('hex')}`,
          bundle,
          signer_id: seed.sign.signer,
          signer: JSON.stringify({ kind: 'key' }),
          created_by: seed.createdBy,
          created_ms: now,
        })
        .execute();
    }
    return { id, digest: `sha256:${digestHex}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An in-toto Statement v1 with a SLSA v1 provenance predicate naming `manifestHex` as its subject. */
export function statement(
  manifestHex: string,
  p: NonNullable<VersionSeed['provenance']>,
): Record<string, unknown> {
  const missing = new Set(p.missing ?? []);
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'model', digest: { sha256: manifestHex } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://warden.dev/training/v1',
        externalParameters: {
          source: { repository: 'https://git.example/fraud', commit: 'a'.repeat(40) },
          parameters: { epochs: 3 },
          ...(p.trainer ? { trainer: p.trainer } : {}),
        },
        resolvedDependencies: [
          {
            name: 'dataset:cards',
            uri: 'warden:dataset:01HZZZZZZZZZZZZZZZZZZZZZZZ',
            digest: { sha256: 'b'.repeat(64) },
          },
          ...(missing.has('environment')
            ? []
            : [
                {
                  name: 'environment',
                  uri: 'oci://registry.example/train@sha256:x',
                  digest: { sha256: 'c'.repeat(64) },
                },
              ]),
        ],
      },
      runDetails: {
        ...(missing.has('builder') ? {} : { builder: { id: 'https://ci.example/runner' } }),
        metadata: { startedOn: '2026-01-01T00:00:00Z', finishedOn: '2026-01-01T01:00:00Z' },
        ...(missing.has('metrics')
          ? {}
          : { byproducts: [{ name: 'metrics', annotations: { ...(p.metrics ?? { auc: 0.95 }) } }] }),
      },
    },
  };
}

/** A critical open alert on a model or version (as a detector would raise it). */
export async function raiseCriticalAlert(
  s: TestServer,
  subject: { type: 'Model' | 'ModelVersion'; id: string },
  project: string,
): Promise<string> {
  const id = newId();
  const now = Date.now();
  await s.rt.store.db
    .insertInto('alerts')
    .values({
      id,
      kind: 'drift',
      severity: 'critical',
      status: 'open',
      project,
      subject_type: subject.type,
      subject_id: subject.id,
      summary: 'accuracy collapsed',
      details: '{}',
      created_ms: now,
      updated_ms: now,
      updated_by: null,
    })
    .execute();
  return id;
}

/** A principal with a token and its role bindings. */
export interface Actor {
  readonly id: string;
  readonly token: string;
}

/** A service account bound to `roles` on `project`, with a token of `scopes` (default all). */
export async function serviceAccount(
  s: TestServer,
  name: string,
  roles: readonly string[],
  project: string,
  scopes: readonly string[] = ['*'],
): Promise<Actor> {
  const created = await s.inject({
    method: 'POST',
    url: '/api/v1/principals',
    body: { type: 'service', name },
  });
  assert.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  for (const role of roles) {
    const bound = await s.inject({
      method: 'POST',
      url: '/api/v1/bindings',
      body: { role, principal: { type: 'ServiceAccount', id }, resource: { type: 'Project', id: project } },
    });
    assert.equal(bound.statusCode, 201, bound.body);
  }
  return { id, token: await tokenFor(s, id, scopes) };
}

/** A token for an existing principal. */
export async function tokenFor(
  s: TestServer,
  id: string,
  scopes: readonly string[] = ['*'],
): Promise<string> {
  const res = await s.inject({
    method: 'POST',
    url: `/api/v1/principals/${id}/tokens`,
    body: { description: 'test', scopes },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().token as string;
}
