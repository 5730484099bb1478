import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WardenError } from '../../src/core/index.js';
import { parseProvenance, provenanceFacts } from '../../src/registry/index.js';
import { provenanceStatement } from '../support/provenance.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const complete = () =>
  provenanceStatement({
    manifestDigest: DIGEST,
    datasets: [{ name: 'transactions', id: '01DATASET', digest: `sha256:${'d'.repeat(64)}` }],
    trainer: '01TRAINER',
  });

function refused(fn: () => unknown, field?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WardenError, `threw ${String(err)}`);
    assert.equal(err.status, 400);
    if (field !== undefined)
      assert.ok(
        err.issues.some((i) => i.field === field),
        `${JSON.stringify(err.issues)} lacks ${field}`,
      );
    return true;
  });
}

describe('provenance parser', () => {
  it('reads every fact of a complete statement', () => {
    const parsed = parseProvenance(complete());
    assert.deepEqual(parsed.subjects, ['c'.repeat(64)]);
    assert.deepEqual(parsed.facts, {
      complete: true,
      missing: [],
      metrics: { auc: 0.93, precision: 0.88 },
      datasets: [{ name: 'transactions', id: '01DATASET', sha256: 'd'.repeat(64) }],
      trainer: '01TRAINER',
      builder: 'https://ci.example/runners/gpu-1',
      startedOn: '2025-03-01T10:00:00Z',
      finishedOn: '2025-03-01T12:30:00Z',
      source: { repository: 'https://git.example/fraud/scorer', commit: 'a'.repeat(40) },
      environment: { uri: 'oci://registry.example/train@sha256:beef', sha256: 'b'.repeat(64) },
    });
    assert.deepEqual(provenanceFacts(JSON.stringify(complete())), parsed.facts);
  });

  it('names what an incomplete statement lacks', () => {
    const bare = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: 'c'.repeat(64) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {},
    };
    const facts = provenanceFacts(bare);
    assert.equal(facts.complete, false);
    assert.deepEqual(facts.missing, [
      'source',
      'parameters',
      'datasets',
      'environment',
      'builder',
      'startedOn',
      'finishedOn',
      'metrics',
    ]);
  });

  it('refuses wrong types and malformed values, naming the field', () => {
    const cases: [string, (s: ReturnType<typeof complete>) => void][] = [
      ['_type', (s) => Object.assign(s, { _type: 'https://in-toto.io/Statement/v0.1' })],
      ['predicateType', (s) => Object.assign(s, { predicateType: 'https://slsa.dev/provenance/v0.2' })],
      ['subject', (s) => Object.assign(s, { subject: [] })],
      ['subject[0].digest.sha256', (s) => Object.assign(s.subject[0]!, { digest: { sha256: 'XYZ' } })],
      [
        'predicate.runDetails.byproducts[0].annotations.auc',
        (s) => Object.assign(s.predicate.runDetails.byproducts[0]!.annotations, { auc: '0.9' }),
      ],
      [
        'predicate.runDetails.metadata.startedOn',
        (s) => Object.assign(s.predicate.runDetails.metadata, { startedOn: 'yesterday' }),
      ],
      [
        'predicate.runDetails.metadata.finishedOn',
        (s) => Object.assign(s.predicate.runDetails.metadata, { finishedOn: '2025-03-01T09:00:00Z' }),
      ],
      [
        'predicate.buildDefinition.resolvedDependencies[0].uri',
        (s) => Object.assign(s.predicate.buildDefinition.resolvedDependencies[0]!, { uri: 's3://bucket/x' }),
      ],
      [
        'predicate.buildDefinition.externalParameters.trainer',
        (s) => Object.assign(s.predicate.buildDefinition.externalParameters, { trainer: 42 }),
      ],
    ];
    for (const [field, change] of cases) {
      const s = complete();
      change(s);
      refused(() => parseProvenance(s), field);
    }
    refused(() => provenanceFacts('{not json'), 'statement');
    refused(() => parseProvenance([]), 'statement');
  });

  it('never throws anything but a 400 WardenError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseProvenance(value);
        } catch (err) {
          assert.ok(err instanceof WardenError && err.status === 400, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but a 400 WardenError when parts of a valid statement are replaced by arbitrary JSON', () => {
    const paths = [
      ['subject'],
      ['subject', 0],
      ['subject', 0, 'digest'],
      ['predicate'],
      ['predicate', 'buildDefinition'],
      ['predicate', 'buildDefinition', 'externalParameters'],
      ['predicate', 'buildDefinition', 'externalParameters', 'source'],
      ['predicate', 'buildDefinition', 'resolvedDependencies'],
      ['predicate', 'buildDefinition', 'resolvedDependencies', 0],
      ['predicate', 'buildDefinition', 'resolvedDependencies', 0, 'digest'],
      ['predicate', 'runDetails'],
      ['predicate', 'runDetails', 'builder'],
      ['predicate', 'runDetails', 'metadata'],
      ['predicate', 'runDetails', 'byproducts'],
      ['predicate', 'runDetails', 'byproducts', 0, 'annotations'],
    ] as const;
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const s = complete() as unknown as Record<string | number, unknown>;
        let at = s;
        for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
        at[path[path.length - 1] as string | number] = value;
        try {
          const parsed = parseProvenance(s);
          assert.equal(typeof parsed.facts.complete, 'boolean');
        } catch (err) {
          assert.ok(err instanceof WardenError && err.status === 400, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
