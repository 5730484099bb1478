import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { addLineageEdges } from '../../src/catalog/index.js';
import { totpCode } from '../../src/identity/totp.js';
import type { LedgerEvent } from '../../src/ledger/index.js';
import { keyHint } from '../../src/registry/oms/index.js';
import { readAuthzEpoch } from '../../src/store/index.js';
import { makeCert } from '../registry/x509-builder.js';
import { allEvents } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type InjectResult, type TestServer, testServer } from '../support/runtime.js';

const PASSWORD = 'Correct-Horse-42-battery';
const MINUTE = 60_000;
const digest = (c: string) => `sha256:${c.repeat(64)}`;

for (const dialect of await backends()) {
  describe(`projects, datasets and lineage API on ${dialect}`, () => {
    const clock = {
      t: Date.now(),
      now() {
        return this.t;
      },
    };
    let s: TestServer;
    // Principals: dana (user, data scientist, MFA), sam and eve (service accounts, data scientists),
    // nobody (user without bindings). Tokens by name.
    const id = { dana: '', sam: '', eve: '', nobody: '' };
    const tok = { dana: '', sam: '', eve: '', nobody: '' };
    const ds = { cards: '', tx: '', derived: '', churn: '' };

    const api = (
      method: string,
      url: string,
      opts: { body?: unknown; token?: string; purpose?: string; ua?: string } = {},
    ): Promise<InjectResult> =>
      s.inject({
        method,
        url,
        body: opts.body,
        ...(opts.token !== undefined ? { token: opts.token } : {}),
        headers: {
          'user-agent': opts.ua ?? 'catalog-api-test',
          ...(opts.purpose !== undefined ? { 'x-warden-purpose': opts.purpose } : {}),
        },
      });

    async function ok(res: InjectResult, status = 200) {
      assert.equal(res.statusCode, status, res.body);
      return res.json();
    }

    async function principal(type: 'user' | 'service', name: string, password?: string): Promise<string> {
      const body = { type, name, ...(password ? { password } : {}) };
      return (await ok(await api('POST', '/api/v1/principals', { body }), 201)).id;
    }

    async function token(principalId: string): Promise<string> {
      const res = await api('POST', `/api/v1/principals/${principalId}/tokens`, {
        body: { description: 'test', scopes: ['*'] },
      });
      return (await ok(res, 201)).token;
    }

    async function bind(role: string, who: { type: string; id: string }, project: string) {
      const body = { role, principal: who, resource: { type: 'Project', id: project } };
      await ok(await api('POST', '/api/v1/bindings', { body }), 201);
    }

    async function recorded(query: string): Promise<LedgerEvent[]> {
      return (await allEvents(s, `wait=integrated&${query}`)).flatMap((e) => (e.event ? [e.event] : []));
    }

    function register(project: string, body: Record<string, unknown>, as?: string) {
      return api('POST', `/api/v1/projects/${project}/datasets`, {
        body: {
          sensitivity: 'internal',
          allowedPurposes: [],
          piiFields: [],
          locationUri: 's3://lake/x',
          versionDigest: digest('a'),
          ...body,
        },
        ...(as ? { token: as } : {}),
      });
    }

    before(async () => {
      s = await testServer(dialect, {}, clock);
      id.dana = await principal('user', 'dana', PASSWORD);
      id.sam = await principal('service', 'sam');
      id.eve = await principal('service', 'eve');
      id.nobody = await principal('user', 'nobody');
      tok.sam = await token(id.sam);
      tok.eve = await token(id.eve);
      tok.nobody = await token(id.nobody);
      // dana signs in and enrols TOTP: the session is then MFA-fresh.
      const login = await ok(
        await api('POST', '/api/v1/auth/login', { body: { username: 'dana', password: PASSWORD } }),
      );
      tok.dana = login.token;
      const enrolled = await ok(await api('POST', '/api/v1/auth/mfa/enroll', { token: tok.dana }));
      const confirm = await api('POST', '/api/v1/auth/mfa/confirm', {
        token: tok.dana,
        body: { code: totpCode(enrolled.secret, clock.t) },
      });
      assert.equal(confirm.statusCode, 204, confirm.body);
    });
    after(() => s.close());

    it('creates projects with settings, refuses bad or taken ids with the field named, and records it', async () => {
      const created = await ok(
        await api('POST', '/api/v1/projects', {
          body: {
            id: 'fraud',
            description: 'fraud scoring',
            settings: { approvals: { production: 3 }, metricThresholds: { auc: { min: 0.9 } } },
          },
        }),
        201,
      );
      assert.deepEqual(created.environments, ['dev', 'staging', 'production']);
      assert.deepEqual(created.settings, {
        approvals: { staging: 0, production: 3 },
        metricThresholds: { auc: { min: 0.9 } },
        requestTtlHours: 72,
      });
      await ok(await api('POST', '/api/v1/projects', { body: { id: 'churn', environments: ['dev'] } }), 201);
      const taken = await api('POST', '/api/v1/projects', { body: { id: 'fraud' } });
      assert.equal(taken.statusCode, 409, taken.body);
      assert.equal(taken.json().error.code, 'WARDEN_CONFLICT');
      for (const [body, field] of [
        [{ id: 'Not A Slug' }, 'id'],
        [{ id: 'x', settings: { approvals: { production: -1 } } }, 'settings.approvals.production'],
        [{ id: 'x', settings: { unknown: 1 } }, 'settings'],
        [{ id: 'x', environments: ['dev', 'dev'] }, 'environments'],
      ] as const) {
        const res = await api('POST', '/api/v1/projects', { body });
        assert.equal(res.statusCode, 400, res.body);
        assert.ok(
          res.json().error.issues.some((i: { field: string }) => i.field === field),
          `${JSON.stringify(body)}: ${res.body}`,
        );
      }
      const events = await recorded('action=project.create&outcome=succeeded');
      assert.deepEqual(events.map((e) => e.context?.project).sort(), ['churn', 'fraud']);
      await bind('data-scientist', { type: 'User', id: id.dana }, 'fraud');
      await bind('data-scientist', { type: 'ServiceAccount', id: id.sam }, 'fraud');
      await bind('data-scientist', { type: 'ServiceAccount', id: id.eve }, 'fraud');
    });

    it('lists only the projects the caller may read; show answers 404 to admins and 403 to others for unknown ids', async () => {
      const all = await ok(await api('GET', '/api/v1/projects'));
      assert.deepEqual(
        all.projects.map((p: { id: string }) => p.id),
        ['churn', 'fraud'],
      );
      const mine = await ok(await api('GET', '/api/v1/projects', { token: tok.sam }));
      assert.deepEqual(
        mine.projects.map((p: { id: string }) => p.id),
        ['fraud'],
      );
      assert.deepEqual((await ok(await api('GET', '/api/v1/projects', { token: tok.nobody }))).projects, []);
      assert.equal((await ok(await api('GET', '/api/v1/projects/fraud', { token: tok.sam }))).id, 'fraud');
      assert.equal((await api('GET', '/api/v1/projects/churn', { token: tok.sam })).statusCode, 403);
      assert.equal((await api('GET', '/api/v1/projects/nope')).statusCode, 404);
      assert.equal((await api('GET', '/api/v1/projects/nope', { token: tok.sam })).statusCode, 403);
    });

    it('updates settings and environments; an environment change moves the authorization epoch', async () => {
      const db = s.rt.store.db;
      const e0 = await readAuthzEpoch(db);
      const described = await ok(
        await api('PATCH', '/api/v1/projects/fraud', { body: { description: 'v2' } }),
      );
      assert.equal(described.description, 'v2');
      assert.equal(described.settings.approvals.production, 3, 'settings untouched');
      assert.equal(await readAuthzEpoch(db), e0, 'a description is not seen by the policies');
      const changed = await ok(
        await api('PATCH', '/api/v1/projects/fraud', {
          body: { environments: ['dev', 'production'], settings: { requestTtlHours: 24 } },
        }),
      );
      assert.deepEqual(changed.environments, ['dev', 'production']);
      assert.deepEqual(changed.settings, {
        approvals: { staging: 0, production: 2 },
        metricThresholds: {},
        requestTtlHours: 24,
      });
      assert.ok((await readAuthzEpoch(db)) > e0);
      const bad = await api('PATCH', '/api/v1/projects/fraud', {
        body: { settings: { requestTtlHours: 0 } },
      });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.equal(bad.json().error.issues[0].field, 'settings.requestTtlHours');
      const denied = await api('PATCH', '/api/v1/projects/fraud', {
        token: tok.sam,
        body: { description: 'x' },
      });
      assert.equal(denied.statusCode, 403, denied.body);
      const updates = await recorded('action=project.update&outcome=succeeded');
      assert.equal(updates.length, 2);
      assert.deepEqual(updates[1]?.details?.changed, ['environments', 'settings']);
    });

    it('trusts signers: EC keys fingerprinted by the OMS key hint, CA certificates by DER digest; refuses anything else; revokes', async () => {
      const db = s.rt.store.db;
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const key = await ok(
        await api('POST', '/api/v1/projects/fraud/signers', { body: { name: 'ci', kind: 'key', pem } }),
        201,
      );
      assert.equal(key.fingerprint, keyHint(publicKey));
      assert.equal(key.revokedAt, null);
      const again = await api('POST', '/api/v1/projects/fraud/signers', {
        body: { name: 'ci2', kind: 'key', pem },
      });
      assert.equal(again.statusCode, 409, again.body);
      const root = makeCert({ subject: 'Test Root', ca: true });
      const mid = makeCert({ subject: 'Test Intermediate', issuer: root, ca: true });
      const leaf = makeCert({ subject: 'Leaf', issuer: mid });
      const rootSigner = await ok(
        await api('POST', '/api/v1/projects/fraud/signers', {
          body: { name: 'root', kind: 'root', pem: root.pem },
        }),
        201,
      );
      assert.equal(rootSigner.fingerprint, createHash('sha256').update(root.cert.raw).digest('hex'));
      await ok(
        await api('POST', '/api/v1/projects/fraud/signers', {
          body: { name: 'mid', kind: 'intermediate', pem: mid.pem },
        }),
        201,
      );
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
        type: 'spki',
        format: 'pem',
      });
      const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey.export({
        type: 'spki',
        format: 'pem',
      });
      for (const [kind, bad] of [
        ['key', rsa],
        ['key', p521],
        ['key', privateKey.export({ type: 'pkcs8', format: 'pem' })],
        ['key', 'not a pem'],
        ['root', leaf.pem],
        ['root', mid.pem],
        ['intermediate', pem],
      ] as const) {
        const res = await api('POST', '/api/v1/projects/fraud/signers', {
          body: { name: 'bad', kind, pem: bad },
        });
        assert.equal(res.statusCode, 400, `${kind}: ${res.body}`);
        assert.equal(res.json().error.issues[0].field, 'pem');
      }
      const listed = await ok(await api('GET', '/api/v1/projects/fraud/signers', { token: tok.sam }));
      assert.deepEqual(
        listed.signers.map((x: { name: string }) => x.name),
        ['ci', 'root', 'mid'],
      );
      const e0 = await readAuthzEpoch(db);
      const revoked = await ok(
        await api('POST', `/api/v1/projects/fraud/signers/${key.id}/revoke`, {
          body: { reason: 'key rotated' },
        }),
      );
      assert.notEqual(revoked.revokedAt, null);
      assert.ok((await readAuthzEpoch(db)) > e0, 'signed may change: cached decisions drop');
      assert.equal((await api('POST', `/api/v1/projects/fraud/signers/${key.id}/revoke`)).statusCode, 409);
      assert.equal((await api('POST', `/api/v1/projects/churn/signers/${key.id}/revoke`)).statusCode, 404);
      const readded = await api('POST', '/api/v1/projects/fraud/signers', {
        body: { name: 'ci', kind: 'key', pem },
      });
      assert.equal(readded.statusCode, 201, 'a revoked key may be trusted again');
      const added = await recorded('action=project_signer.add&outcome=succeeded');
      assert.equal(added.length, 4);
      assert.ok(added.every((e) => e.context?.project === 'fraud'));
      const revokes = await recorded('action=project_signer.revoke');
      assert.deepEqual(
        revokes.map((e) => [e.resource.id, e.details?.reason]),
        [[key.id, 'key rotated']],
      );
    });

    it('registers datasets, checking owner, parents (same project) and digest; derived datasets name their parents', async () => {
      const cards = await ok(
        await register('fraud', {
          name: 'card-holders',
          sensitivity: 'restricted',
          allowedPurposes: ['fraud-detection'],
          piiFields: ['name', 'card_number'],
          owner: id.dana,
          domain: 'payments',
          locationUri: 's3://lake/card-holders/v1',
        }),
        201,
      );
      ds.cards = cards.id;
      assert.equal(cards.owner, id.dana);
      assert.equal(cards.locationUri, undefined, 'the location comes only with a granted read');
      ds.tx = (
        await ok(
          await register('fraud', {
            name: 'transactions',
            sensitivity: 'confidential',
            allowedPurposes: ['fraud-detection', 'research'],
            locationUri: 's3://lake/transactions/v7',
            versionDigest: digest('b'),
          }),
          201,
        )
      ).id;
      ds.churn = (await ok(await register('churn', { name: 'accounts' }), 201)).id;
      const derived = await ok(
        await register(
          'fraud',
          { name: 'features', versionDigest: digest('c'), parents: [ds.cards, ds.tx, ds.tx] },
          tok.dana,
        ),
        403,
      );
      assert.equal(derived.error.code, 'WARDEN_FORBIDDEN', 'data scientists do not register datasets');
      const made = await ok(
        await register('fraud', {
          name: 'features',
          versionDigest: digest('c'),
          parents: [ds.cards, ds.tx, ds.tx],
        }),
        201,
      );
      ds.derived = made.id;
      assert.deepEqual(made.parents, [ds.cards, ds.tx].sort());
      for (const [body, field] of [
        [{ name: 'x', parents: ['nope'] }, 'parents.0'],
        [{ name: 'x', parents: [ds.cards, ds.churn] }, 'parents.1'],
        [{ name: 'x', owner: 'nobody-at-all' }, 'owner'],
        [{ name: 'x', versionDigest: 'sha256:abc' }, 'versionDigest'],
        [{ name: 'x', sensitivity: 'secret' }, 'sensitivity'],
        [{ name: 'x', locationUri: 'not a url' }, 'locationUri'],
      ] as const) {
        const res = await register('fraud', body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
        assert.equal(res.json().error.issues[0].field, field, res.body);
      }
      const dup = await register('fraud', { name: 'card-holders', sensitivity: 'public' });
      assert.equal(dup.statusCode, 409, dup.body);
      const listed = await ok(await api('GET', '/api/v1/projects/fraud/datasets', { token: tok.sam }));
      assert.deepEqual(
        listed.datasets.map((d: { name: string }) => d.name),
        ['features', 'transactions', 'card-holders'],
      );
      assert.equal(
        (await ok(await api('GET', `/api/v1/datasets/${ds.cards}`, { token: tok.sam }))).name,
        'card-holders',
      );
      assert.equal((await api('GET', `/api/v1/datasets/${ds.churn}`, { token: tok.sam })).statusCode, 403);
      assert.equal((await api('GET', '/api/v1/datasets/01J0000000000000000000NOPE')).statusCode, 404);
      const events = await recorded('action=dataset.register&outcome=succeeded');
      assert.equal(events.length, 4);
      const ev = events.find((e) => e.resource.id === ds.derived);
      assert.deepEqual(ev?.context, { project: 'fraud' });
      assert.deepEqual(ev?.details?.parents, [ds.cards, ds.tx]);
    });

    it('grants a restricted dataset only with MFA and an allowed purpose; the read needs the purpose too; all recorded', async () => {
      const ask = (as: string, purpose: string, ua: string) =>
        api('POST', `/api/v1/datasets/${ds.cards}/access-requests`, { token: as, body: { purpose }, ua });
      const refusals: [string, string, string, string][] = [
        [tok.sam, 'fraud-detection', 'ask-sa', 'guardrail:dataset-restricted-mfa'],
        [tok.dana, 'marketing', 'ask-wrong-purpose', 'guardrail:dataset-purpose'],
      ];
      for (const [as, purpose, ua, policy] of refusals) {
        const res = await ask(as, purpose, ua);
        assert.equal(res.statusCode, 403, res.body);
        assert.match(res.json().error.message, new RegExp(policy));
      }
      const missing = await api('POST', `/api/v1/datasets/${ds.cards}/access-requests`, {
        token: tok.dana,
        body: {},
      });
      assert.equal(missing.statusCode, 400, 'a request names its purpose');

      const granted = await ok(await ask(tok.dana, 'fraud-detection', 'ask-ok'), 201);
      assert.equal(granted.purpose, 'fraud-detection');
      assert.equal(granted.expiresAt, new Date(clock.t + 60 * MINUTE).toISOString());
      const read = (as: string, grant: string, purpose?: string, dataset = ds.cards) =>
        api('POST', `/api/v1/datasets/${dataset}/reads`, {
          token: as,
          body: { grant },
          ...(purpose !== undefined ? { purpose } : {}),
          ua: `read-${purpose ?? 'none'}`,
        });
      const noPurpose = await read(tok.dana, granted.id);
      assert.equal(noPurpose.statusCode, 403, noPurpose.body);
      assert.match(noPurpose.json().error.message, /guardrail:dataset-purpose/);
      const data = await ok(await read(tok.dana, granted.id, 'fraud-detection'));
      assert.deepEqual(
        { uri: data.locationUri, digest: data.versionDigest, grant: data.grant.id },
        { uri: 's3://lake/card-holders/v1', digest: digest('a'), grant: granted.id },
      );

      const denials = await recorded(`action=dataset.access_grant&outcome=denied&resourceId=${ds.cards}`);
      assert.deepEqual(
        denials.map((e) => [e.actor.id, e.context?.purpose, e.decision?.policies]),
        [
          [id.sam, 'fraud-detection', ['guardrail:dataset-restricted-mfa']],
          [id.dana, 'marketing', ['guardrail:dataset-purpose']],
        ],
      );
      const grants = await recorded(`action=dataset.access_grant&outcome=succeeded&resourceId=${ds.cards}`);
      assert.deepEqual(
        grants.map((e) => [e.actor.id, e.actor.mfa, e.details?.grant]),
        [[id.dana, true, granted.id]],
      );
      const reads = await recorded(`action=dataset.read&resourceId=${ds.cards}`);
      assert.deepEqual(
        reads.map((e) => [e.outcome, e.context?.purpose ?? null, e.decision?.policies ?? null]),
        [
          ['denied', null, ['guardrail:dataset-purpose']],
          ['succeeded', 'fraud-detection', ['role:data-scientist']],
        ],
      );
    });

    it("refuses a read under someone else's grant, another dataset's, another purpose, or an expired one", async () => {
      const grant = await ok(
        await api('POST', `/api/v1/datasets/${ds.tx}/access-requests`, {
          token: tok.sam,
          body: { purpose: 'fraud-detection', minutes: 5 },
        }),
        201,
      );
      assert.equal(grant.expiresAt, new Date(clock.t + 5 * MINUTE).toISOString());
      const tooLong = await api('POST', `/api/v1/datasets/${ds.tx}/access-requests`, {
        token: tok.sam,
        body: { purpose: 'fraud-detection', minutes: 24 * 60 + 1 },
      });
      assert.equal(tooLong.statusCode, 400, tooLong.body);
      const read = (as: string, purpose: string, dataset = ds.tx) =>
        api('POST', `/api/v1/datasets/${dataset}/reads`, { token: as, body: { grant: grant.id }, purpose });
      assert.equal(
        (await ok(await read(tok.sam, 'fraud-detection'))).locationUri,
        's3://lake/transactions/v7',
      );
      const cases: [InjectResult, RegExp][] = [
        [await read(tok.eve, 'fraud-detection'), /belongs to someone else/],
        [await read(tok.sam, 'research'), /is for purpose "fraud-detection"/],
        [await read(tok.sam, 'fraud-detection', ds.derived), /another dataset/],
      ];
      clock.t += 5 * MINUTE;
      cases.push([await read(tok.sam, 'fraud-detection'), /expired/]);
      for (const [res, reason] of cases) {
        assert.equal(res.statusCode, 403, res.body);
        assert.match(res.json().error.message, reason);
      }
      const denied = await recorded(`action=dataset.read&outcome=denied&resourceId=${ds.tx}`);
      assert.deepEqual(
        denied.map((e) => [e.actor.id, e.decision?.policies, e.details?.grant]),
        [
          [id.eve, ['dataset-grant'], grant.id],
          [id.sam, ['dataset-grant'], grant.id],
          [id.sam, ['dataset-grant'], grant.id],
        ],
      );
      assert.match(denied[2]?.decision?.reason ?? '', /expired/);
      const other = await recorded(`action=dataset.read&outcome=denied&resourceId=${ds.derived}`);
      assert.match(other[0]?.decision?.reason ?? '', /another dataset/);
      const fine = await recorded(`action=dataset.read&outcome=succeeded&resourceId=${ds.tx}`);
      assert.deepEqual(
        fine.map((e) => [e.actor.id, e.context]),
        [[id.sam, { project: 'fraud', purpose: 'fraud-detection' }]],
      );
    });

    it('walks lineage datasets → derived → model version → deployment both ways, cycle-safe, hiding what the caller may not read', async () => {
      const db = s.rt.store.db;
      const t = clock.t;
      await db
        .insertInto('models')
        .values({
          id: 'm1',
          project_id: 'fraud',
          name: 'scorer',
          description: null,
          created_by: id.sam,
          created_ms: t,
        })
        .execute();
      await db
        .insertInto('model_versions')
        .values({
          id: 'v1',
          model_id: 'm1',
          project_id: 'fraud',
          number: 1,
          manifest_digest: digest('d'),
          total_bytes: 1,
          file_count: 1,
          stage: 'production',
          revision: 0,
          created_by: id.sam,
          created_by_type: 'service',
          created_ms: t,
          provenance: null,
          provenance_digest: null,
          trainer: null,
          stage_changed_ms: t,
          stage_rationale: null,
        })
        .execute();
      await db
        .insertInto('endpoints')
        .values({
          id: 'e1',
          project_id: 'fraud',
          name: 'scoring',
          environment: 'dev',
          upstream_url: 'http://model',
          protocol: 'http',
          settings: '{}',
          revision: 0,
          created_by: id.sam,
          created_ms: t,
        })
        .execute();
      await db
        .insertInto('deployments')
        .values({
          id: 'd1',
          endpoint_id: 'e1',
          version_id: 'v1',
          status: 'active',
          rationale: null,
          deployed_by: id.sam,
          deployed_ms: t,
          ended_ms: null,
        })
        .execute();
      await addLineageEdges(
        db,
        [
          {
            from: { kind: 'dataset', id: ds.derived },
            to: { kind: 'model_version', id: 'v1' },
            relation: 'trained_on',
          },
          {
            from: { kind: 'model_version', id: 'v1' },
            to: { kind: 'deployment', id: 'd1' },
            relation: 'deployed_as',
          },
          // A cycle (never made by the API) and a node in a project sam cannot read.
          {
            from: { kind: 'dataset', id: ds.derived },
            to: { kind: 'dataset', id: ds.cards },
            relation: 'derived_from',
          },
          {
            from: { kind: 'dataset', id: ds.churn },
            to: { kind: 'dataset', id: ds.cards },
            relation: 'derived_from',
          },
        ],
        t,
      );
      const walk = async (kind: string, nodeId: string, query: string, as?: string) =>
        ok(await api('GET', `/api/v1/lineage/${kind}/${nodeId}?${query}`, as ? { token: as } : {}));
      const ids = (g: { nodes: { id: string }[] }) => g.nodes.map((n) => n.id).sort();
      const down = await walk('dataset', ds.tx, 'direction=down', tok.sam);
      assert.deepEqual(ids(down), [ds.cards, ds.derived, ds.tx, 'd1', 'v1'].sort());
      assert.equal(down.truncated, false);
      assert.deepEqual(
        down.nodes.find((n: { id: string }) => n.id === 'd1'),
        { kind: 'deployment', id: 'd1', label: 'scoring ← scorer v1', project: 'fraud' },
      );
      assert.ok(
        down.edges.some(
          (e: { from: { id: string }; to: { id: string }; relation: string }) =>
            e.from.id === 'v1' && e.to.id === 'd1' && e.relation === 'deployed_as',
        ),
      );
      const up = await walk('deployment', 'd1', 'direction=up', tok.sam);
      assert.deepEqual(
        ids(up),
        [ds.cards, ds.derived, ds.tx, 'd1', 'v1'].sort(),
        'the churn dataset stays hidden',
      );
      assert.ok(up.edges.every((e: { from: { id: string } }) => e.from.id !== ds.churn));
      const upAdmin = await walk('deployment', 'd1', 'direction=up');
      assert.ok(ids(upAdmin).includes(ds.churn), 'an admin sees across projects');
      assert.deepEqual(
        upAdmin.edges.find((e: { from: { id: string } }) => e.from.id === 'v1'),
        {
          from: { kind: 'model_version', id: 'v1' },
          to: { kind: 'deployment', id: 'd1' },
          relation: 'deployed_as',
        },
      );
      const shallow = await walk('model_version', 'v1', 'direction=up&depth=1', tok.sam);
      assert.deepEqual(ids(shallow), [ds.derived, 'v1'].sort());
      assert.equal(shallow.truncated, true);
      assert.deepEqual(ids(await walk('model_version', 'v1', 'direction=down')), ['d1', 'v1']);
      assert.equal((await api('GET', '/api/v1/lineage/dataset/nope?direction=up')).statusCode, 404);
      assert.equal((await api('GET', '/api/v1/lineage/deployment/nope')).statusCode, 404);
      assert.equal(
        (await api('GET', `/api/v1/lineage/dataset/${ds.churn}`, { token: tok.sam })).statusCode,
        403,
      );
      assert.equal(
        (await api('GET', '/api/v1/lineage/deployment/d1', { token: tok.nobody })).statusCode,
        403,
      );
      assert.equal((await api('GET', '/api/v1/lineage/model/v1')).statusCode, 400);
    });
  });
}
