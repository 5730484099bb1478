import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allEvents, type ListedEvent } from '../support/audit.js';
import { backends } from '../support/backends.js';
import { TEST_TOKEN, type TestServer, testServer } from '../support/runtime.js';

const MASK = /^hmac-sha256:[0-9a-f]{64}$/;
const SECRET_IP = '203.0.113.77';
const OTHER_IP = '198.51.100.23';
const SECRET_DATA = 'PATIENT-7731-SSN-078-05-1120';

const ce = (id: string, data: unknown) => ({
  specversion: '1.0',
  id,
  source: 'https://clinic.example/intake',
  type: 'com.example.patient',
  data,
});

for (const dialect of await backends()) {
  describe(`sensitive fields on ${dialect}`, () => {
    let s: TestServer;
    let events: Map<string, NonNullable<ListedEvent['event']>>;

    async function post(remoteAddress: string, body: unknown, token: string | null = TEST_TOKEN) {
      return s.rt.app.inject({
        method: 'POST',
        url: '/api/v1/events?wait=integrated',
        remoteAddress,
        headers: {
          'content-type': 'application/json',
          ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
        },
        payload: JSON.stringify(body),
      });
    }

    before(async () => {
      s = await testServer(dialect, { sensitiveFields: 'actor.ip,actor.id,details.cloudevent.data' });
      const first = await post(SECRET_IP, [
        ce('same-1', { record: SECRET_DATA }),
        ce('same-2', { record: SECRET_DATA }),
        ce('other', { record: 'PATIENT-0002' }),
      ]);
      assert.equal(first.statusCode, 201, first.body);
      assert.equal((await post(OTHER_IP, ce('far', { record: SECRET_DATA }))).statusCode, 201);
      assert.equal((await post(SECRET_IP, ce('anon', { record: SECRET_DATA }), null)).statusCode, 401);
      const listed = await allEvents(s, 'action=external.com.example.patient');
      events = new Map(
        listed.map((e) => {
          const ev = e.event!;
          return [(ev.details as { cloudevent: { id: string } }).cloudevent.id, ev];
        }),
      );
    });
    after(() => s.close());

    const dataOf = (id: string) =>
      (events.get(id)!.details as { cloudevent: { data: unknown } }).cloudevent.data;

    it('stores hmac-sha256:<hex> in the configured fields, and the raw values nowhere', async () => {
      assert.equal(events.size, 4);
      for (const ev of events.values()) {
        assert.match(String(ev.actor.ip), MASK);
        assert.match(ev.actor.id, MASK);
        assert.match(String(dataOf((ev.details as { cloudevent: { id: string } }).cloudevent.id)), MASK);
      }
      const rows = await s.rt.store.db.selectFrom('ledger_events').selectAll().execute();
      const dump = JSON.stringify(rows);
      for (const raw of [SECRET_IP, OTHER_IP, SECRET_DATA, 'PATIENT-0002']) {
        assert.ok(!dump.includes(raw), `${raw} is stored in ledger_events`);
      }
      // The admin's id stays as the resource of its own creation event, but never as an actor.
      for (const r of rows) {
        assert.notEqual(r.actor_id, s.rt.bootstrap.principalId);
        if (r.body !== null) assert.notEqual(JSON.parse(r.body).actor.id, s.rt.bootstrap.principalId);
      }
      const denied = await allEvents(s, 'action=auth.authenticate&outcome=denied');
      assert.equal(denied.length, 1);
      assert.match(String(denied[0]?.event?.actor.ip), MASK, 'the guard records masked addresses too');
    });

    it('gives equal inputs equal masks and different inputs different ones', () => {
      assert.equal(dataOf('same-1'), dataOf('same-2'));
      assert.equal(dataOf('same-1'), dataOf('far'));
      assert.notEqual(dataOf('same-1'), dataOf('other'));
      assert.equal(events.get('same-1')?.actor.ip, events.get('other')?.actor.ip);
      assert.notEqual(events.get('same-1')?.actor.ip, events.get('far')?.actor.ip);
      assert.equal(events.get('same-1')?.actor.id, events.get('far')?.actor.id);
    });

    it('finds events by actor, given the raw id or the mask the audit log shows', async () => {
      const raw = await allEvents(
        s,
        `actor=${s.rt.bootstrap.principalId}&action=external.com.example.patient`,
      );
      assert.equal(raw.length, 4);
      const mask = events.get('same-1')!.actor.id;
      const masked = await allEvents(
        s,
        `actor=${encodeURIComponent(mask)}&action=external.com.example.patient`,
      );
      assert.deepEqual(
        masked.map((e) => e.id),
        raw.map((e) => e.id),
      );
      assert.equal((await allEvents(s, 'actor=someone-else&action=external.com.example.patient')).length, 0);
    });
  });
}
