import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { MAX_RETENTION_DAYS } from '../../src/ledger/index.js';
import { timestamp } from '../../src/server/schemas.js';

describe('timestamp', () => {
  it('takes RFC 3339 timestamps of instants that exist, as epoch milliseconds', () => {
    for (const [text, ms] of [
      ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
      ['2000-02-29T12:00:00.5Z', Date.UTC(2000, 1, 29, 12, 0, 0, 500)],
      ['2024-06-01t10:00:00z', Date.UTC(2024, 5, 1, 10)],
      ['2024-06-01T23:59:59+23:59', Date.UTC(2024, 5, 1, 23, 59, 59) - (23 * 60 + 59) * 60_000],
      ['2024-06-01T00:00:00-00:00', Date.UTC(2024, 5, 1)],
    ] as const) {
      assert.equal(timestamp.parse(text), ms, text);
    }
  });

  it('refuses dates and times that do not exist, which Date.parse would move or refuse', () => {
    for (const text of [
      '2023-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-06-01T24:00:00Z',
      '2024-06-01T23:60:00Z',
      '2024-06-01T23:59:60Z',
      '2024-06-01T10:00:00+24:00',
      '2024-06-01T10:00:00+01:60',
      '2024-06-01 10:00:00Z',
    ]) {
      assert.equal(timestamp.safeParse(text).success, false, text);
    }
  });
});

describe('retention period', () => {
  it(`is at most ${MAX_RETENTION_DAYS} days in the configuration too`, () => {
    assert.equal(
      loadConfig({}, { WARDEN_RETENTION_DAYS: String(MAX_RETENTION_DAYS) }, undefined).retentionDays,
      MAX_RETENTION_DAYS,
    );
    assert.throws(
      () => loadConfig({}, { WARDEN_RETENTION_DAYS: '1e308' }, undefined),
      (err: { issues: { field: string }[] }) => err.issues[0]?.field.startsWith('retentionDays') === true,
    );
  });
});
