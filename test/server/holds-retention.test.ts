import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canonicalJson } from '../../src/core/index.js';
import { openCheckpoint } from '../../src/ledger/checkpoint.js';
import { leafHash, parseTlogProof, verifyInclusion, verifyStore } from '../../src/ledger/index.js';
import type { NoteKey } from '../../src/ledger/note.js';
import { allEvents, latestCheckpoint, publishedKey } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { type TestServer, testServer } from '../support/runtime.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2025-03-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const ce = (id: string, project: string) => ({
  specversion: '1.0',
  id,
  source: 'https://ci.example/retention',
  type: 'com.example.retention',
  wardenproject: project,
  data: { n: id },
});

for (const dialect of await backends()) {
  describe(`legal holds and retention on ${dialect}`, () => {
    const clock = { ms: T0, now: () => clock.ms };
    let s: TestServer;
    let key: NoteKey;
    // Ledger event ids by CloudEvent id, and each body as recorded (what an auditor kept).
    const ids: Record<string, string> = {};
    const bodies: Record<string, string> = {};
    let projectHold: string;
    let rangeHold: string;
    let firstPurge: number;

    async function ingest(at: number, events: ReturnType<typeof ce>[]) {
      clock.ms = at;
      const res = await s.inject({ method: 'POST', url: '/api/v1/events?wait=integrated', body: events });
      assert.equal(res.statusCode, 201, res.body);
      res.json().events.forEach((e: { id: string }, i: number) => {
        ids[events[i]!.id] = e.id;
      });
    }

    async function stored(ceId: string) {
      const res = await s.inject({ method: 'GET', url: `/api/v1/audit/events/${ids[ceId]}` });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    }

    async function runRetention(days: number): Promise<number> {
      // Only integrated events are purged: let the integrator catch up first.
      await s.inject({ method: 'GET', url: '/api/v1/audit/events?limit=1&wait=integrated' });
      const res = await s.inject({
        method: 'POST',
        url: '/api/v1/ledger/retention/run',
        body: { olderThanDays: days },
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().purged;
    }

    async function verifyLiveStore() {
      return verifyStore(s.rt.store.db, key);
    }

    before(async () => {
      s = await testServer(dialect, {}, clock);
      key = await publishedKey(s);
      await ingest(T0, [ce('a1', 'alpha'), ce('a2', 'alpha'), ce('b1', 'beta'), ce('b2', 'beta')]);
      await ingest(T0 + HOUR, [ce('c1', 'gamma')]); // exactly at the start of the held range: held
      await ingest(T0 + 90 * 60_000, [ce('e1', 'gamma')]); // exactly at its end (exclusive): not held
      await ingest(T0 + 2 * HOUR, [ce('d1', 'beta')]);
      clock.ms = T0 + 40 * DAY;
      for (const id of Object.keys(ids)) bodies[id] = canonicalJson((await stored(id)).event);
    });
    after(() => s.close());

    it('places holds by project and by time range, and records each', async () => {
      const byProject = await s.inject({
        method: 'POST',
        url: '/api/v1/legal-holds',
        body: { project: 'alpha', reason: 'litigation 42' },
      });
      assert.equal(byProject.statusCode, 201, byProject.body);
      projectHold = byProject.json().id;
      assert.equal(byProject.json().project, 'alpha');
      assert.equal(byProject.json().releasedAt, null);
      const byRange = await s.inject({
        method: 'POST',
        url: '/api/v1/legal-holds',
        body: { from: iso(T0 + HOUR), to: iso(T0 + 90 * 60_000), reason: 'regulator request 7' },
      });
      assert.equal(byRange.statusCode, 201, byRange.body);
      rangeHold = byRange.json().id;
      assert.equal(byRange.json().fromMs, T0 + HOUR);
      const created = await allEvents(s, 'action=legal_hold.create');
      assert.deepEqual(created.map((e) => e.event?.resource.id).sort(), [projectHold, rangeHold].sort());
      assert.ok(created.every((e) => e.event?.actor.id === s.rt.bootstrap.principalId));
      const listed = (await s.inject({ method: 'GET', url: '/api/v1/legal-holds' })).json().holds;
      assert.deepEqual(listed.map((h: { id: string }) => h.id).sort(), [projectHold, rangeHold].sort());
    });

    it('purges bodies older than the period outside every hold, keeps held ones, and records the purge', async () => {
      firstPurge = await runRetention(30);
      const cutoff = clock.ms - 30 * DAY;
      for (const id of ['a1', 'a2', 'c1']) {
        const e = await stored(id);
        assert.equal(e.purged, false, id);
        assert.equal(canonicalJson(e.event), bodies[id]);
      }
      for (const id of ['b1', 'b2', 'e1', 'd1']) {
        const e = await stored(id);
        assert.equal(e.event, null, id);
        assert.equal(e.purged, true, id);
        assert.equal(typeof e.seq, 'number', `${id} keeps its place in the log`);
      }
      const everything = await allEvents(s);
      assert.equal(everything.filter((e) => e.purged).length, firstPurge);
      for (const e of everything) {
        if (e.event === null || Date.parse(e.event.time) >= cutoff) continue;
        const time = Date.parse(e.event.time);
        const held = e.event.context?.project === 'alpha' || (time >= T0 + HOUR && time < T0 + 90 * 60_000);
        assert.ok(held, `${e.event.action} at ${e.event.time} is past retention, unheld, and kept`);
      }
      const purges = await allEvents(s, 'action=ledger.purge');
      assert.equal(purges.length, 1);
      const details = purges[0]?.event?.details as { purged: number; before: string };
      assert.equal(details.purged, firstPurge);
      assert.equal(details.before, iso(cutoff));
      assert.equal(purges[0]?.event?.actor.id, s.rt.bootstrap.principalId);
    });

    it('keeps every proof: purged entries still prove inclusion, tiles answer 410 for their bodies', async () => {
      await s.inject({ method: 'GET', url: '/api/v1/audit/events?limit=1&wait=integrated' });
      const cp = await latestCheckpoint(s, key);
      for (const id of ['b1', 'd1', 'a1']) {
        const { seq } = await stored(id);
        const leaf = leafHash(Buffer.from(bodies[id]!));
        const res = await s.inject({
          method: 'GET',
          url: `/api/v1/ledger/proof/inclusion?index=${seq}&size=${cp.size}`,
        });
        assert.equal(res.statusCode, 200, res.body);
        const proof = res.json().proof.map((p: string) => Buffer.from(p, 'base64'));
        verifyInclusion(leaf, seq, cp.size, proof, cp.root);
        const text = await s.inject({ method: 'GET', url: `/api/v1/audit/events/${ids[id]}/proof` });
        assert.equal(text.statusCode, 200, text.body);
        const tlog = parseTlogProof(text.body);
        const signed = openCheckpoint(tlog.checkpoint, key, key.name);
        verifyInclusion(leaf, tlog.index, signed.size, tlog.proof, signed.root);
      }
      const width = Math.min(cp.size, 255);
      const entries = await s.inject({
        method: 'GET',
        url: `/ledger/tile/entries/000.p/${width}`,
        token: null,
      });
      assert.equal(entries.statusCode, 410, entries.body);
      assert.equal(entries.json().error.code, 'WARDEN_GONE');
      const hashes = await s.rt.app.inject({ method: 'GET', url: `/ledger/tile/0/000.p/${width}` });
      assert.equal(hashes.statusCode, 200);
      const { seq } = await stored('b1');
      assert.deepEqual(
        hashes.rawPayload.subarray(seq * 32, seq * 32 + 32),
        leafHash(Buffer.from(bodies.b1!)),
      );
      const result = await verifyLiveStore();
      assert.ok(result.ok, JSON.stringify(result));
      assert.ok(result.purged >= firstPurge);
    });

    it('releases a hold (recorded), after which the next run purges what it held', async () => {
      const res = await s.inject({
        method: 'POST',
        url: `/api/v1/legal-holds/${projectHold}/release`,
        body: { reason: 'case settled' },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().releasedAt, iso(clock.ms));
      const released = await allEvents(s, 'action=legal_hold.release');
      assert.deepEqual(
        released.map((e) => e.event?.resource.id),
        [projectHold],
      );
      const active = (await s.inject({ method: 'GET', url: '/api/v1/legal-holds' })).json().holds;
      assert.deepEqual(
        active.map((h: { id: string }) => h.id),
        [rangeHold],
      );
      const all = (await s.inject({ method: 'GET', url: '/api/v1/legal-holds?released=include' })).json()
        .holds;
      assert.equal(all.length, 2);

      const second = await runRetention(30);
      assert.ok(second >= 2, `second run purged ${second}`);
      for (const id of ['a1', 'a2']) assert.equal((await stored(id)).purged, true, id);
      assert.equal((await stored('c1')).purged, false, 'the range hold still stands');
      assert.equal((await allEvents(s, 'action=ledger.purge')).length, 2);
      await s.inject({ method: 'GET', url: '/api/v1/audit/events?limit=1&wait=integrated' });
      const result = await verifyLiveStore();
      assert.ok(result.ok, JSON.stringify(result));
      assert.ok(result.purged >= firstPurge + second);
    });

    it('refuses bad holds and releases: 400 naming the field, 404 unknown, 409 already released', async () => {
      const before = (await s.inject({ method: 'GET', url: '/api/v1/legal-holds?released=include' })).json();
      const bad: [unknown, string][] = [
        [{ reason: 'no scope given' }, 'project'],
        [{ resourceId: 'm-1', reason: 'resource without type' }, 'resourceType'],
        [{ project: 'alpha', reason: 'no' }, 'reason'],
        [{ from: 'last tuesday', reason: 'bad time' }, 'from'],
      ];
      for (const [body, field] of bad) {
        const res = await s.inject({ method: 'POST', url: '/api/v1/legal-holds', body });
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        const fields = res.json().error.issues.map((i: { field: string }) => i.field);
        assert.ok(fields.includes(field), `${field} not named in ${res.body}`);
      }
      const after = (await s.inject({ method: 'GET', url: '/api/v1/legal-holds?released=include' })).json();
      assert.deepEqual(after, before);
      const unknown = await s.inject({
        method: 'POST',
        url: '/api/v1/legal-holds/01JUNKNOWNHOLD0000000000000/release',
        body: { reason: 'not there' },
      });
      assert.equal(unknown.statusCode, 404, unknown.body);
      const again = await s.inject({
        method: 'POST',
        url: `/api/v1/legal-holds/${projectHold}/release`,
        body: { reason: 'twice over' },
      });
      assert.equal(again.statusCode, 409, again.body);
      assert.equal((await allEvents(s, 'action=legal_hold.release')).length, 1);
      const negative = await s.inject({
        method: 'POST',
        url: '/api/v1/ledger/retention/run',
        body: { olderThanDays: -1 },
      });
      assert.equal(negative.statusCode, 400);
      assert.equal(negative.json().error.issues[0].field, 'olderThanDays');
    });
  });
}
