import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  leafHash,
  ProofError,
  proveInclusion,
  rootFromLeaves,
  verifyInclusion,
} from '../../src/ledger/merkle.js';
import { formatTlogProof, parseTlogProof, type TlogProof } from '../../src/ledger/proof-text.js';

// The example from C2SP tlog-proof.md; its signature lines are elided there, and parsing does not verify them.
const SPEC_EXAMPLE = `c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
— witness1.example mJirIklj[...]qY9v2B/5bg==
— witness2.example TnKKVHLX[...]xwYwrSjgow==
— witness3.example S4X82uH5[...]3oEcROGLFQ==
`;

const H = leafHash(Buffer.from('a'));
const H64 = H.toString('base64');
const HEADER = 'c2sp.org/tlog-proof@v1';

function rejects(text: string, message: RegExp): void {
  assert.throws(
    () => parseTlogProof(text),
    (err: unknown) => err instanceof ProofError && message.test(err.message),
    JSON.stringify(text),
  );
}

describe('tlog-proof text', () => {
  it('parses and reproduces the spec example', () => {
    const proof = parseTlogProof(SPEC_EXAMPLE);
    assert.equal(proof.index, 73894);
    assert.equal(proof.proof.length, 5);
    assert.equal(proof.proof[0]?.toString('base64'), 'gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=');
    assert.ok(proof.extra?.toString('latin1').startsWith('age-v1.2.1-darwin-arm64.tar.gz'));
    assert.ok(proof.checkpoint.startsWith('example.com/fancylog\n109482\nsFodV'));
    assert.ok(proof.checkpoint.endsWith('3oEcROGLFQ==\n'));
    assert.equal(formatTlogProof(proof), SPEC_EXAMPLE);
  });

  it('formats exactly', () => {
    assert.equal(
      formatTlogProof({ index: 5, proof: [H, H], checkpoint: 'cp\n' }),
      `${HEADER}\nindex 5\n${H64}\n${H64}\n\ncp\n`,
    );
    assert.equal(formatTlogProof({ index: 0, proof: [], checkpoint: 'cp\n' }), `${HEADER}\nindex 0\n\ncp\n`);
    assert.equal(
      formatTlogProof({ index: 1, proof: [], checkpoint: 'cp\n', extra: Buffer.alloc(0) }),
      `${HEADER}\nextra \nindex 1\n\ncp\n`,
    );
  });

  it('round-trips any proof', () => {
    const lineArb = fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n'));
    const checkpointArb = fc
      .tuple(
        lineArb.filter((s) => s !== ''),
        fc.array(lineArb, { maxLength: 6 }),
      )
      .map(([first, rest]) => `${[first, ...rest].join('\n')}\n`);
    const proofArb = fc.record(
      {
        index: fc.maxSafeNat(),
        proof: fc.array(
          fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)),
          { maxLength: 64 },
        ),
        checkpoint: checkpointArb,
        extra: fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
      },
      { requiredKeys: ['index', 'proof', 'checkpoint'] },
    );
    fc.assert(
      fc.property(proofArb, (proof: TlogProof) => {
        const text = formatTlogProof(proof);
        assert.deepEqual(parseTlogProof(text), { ...proof });
        assert.equal(formatTlogProof(parseTlogProof(text)), text);
      }),
    );
  });

  it('carries a proof that verifies against the root in its checkpoint', async () => {
    const leaves = Array.from({ length: 21 }, (_, i) => leafHash(Buffer.from(`event ${i}`)));
    const root = rootFromLeaves(leaves);
    const read = async (ids: readonly { level: number; index: number }[]) =>
      ids.map(({ level, index }) =>
        rootFromLeaves(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level)),
      );
    const checkpoint = `example.com/warden\n21\n${root.toString('base64')}\n\n— example.com/warden AAAA\n`;
    const text = formatTlogProof({ index: 13, proof: await proveInclusion(13, 21, read), checkpoint });
    const parsed = parseTlogProof(text);
    const [, size = '', rootLine = ''] = parsed.checkpoint.split('\n');
    verifyInclusion(leaves[13]!, parsed.index, Number(size), parsed.proof, Buffer.from(rootLine, 'base64'));
  });

  it('rejects malformed text, naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['', /no empty line/],
      [`${HEADER}\nindex 0\n`, /no empty line/],
      [`${HEADER}\nindex 0\n${H64}\n`, /no empty line/],
      [`c2sp.org/tlog-proof@v2\nindex 0\n\ncp\n`, /first line/],
      [`${HEADER}\r\nindex 0\n\ncp\n`, /first line/],
      [`\n${HEADER}\nindex 0\n\ncp\n`, /first line/],
      [`${HEADER}\n\nindex 0\n\ncp\n`, /missing the index/],
      [`${HEADER}\nextra\nindex 0\n\ncp\n`, /missing the index/],
      [`${HEADER}\nextra !!notbase64!!\nindex 0\n\ncp\n`, /extra data is not canonical base64/],
      [`${HEADER}\nextra YR==\nindex 0\n\ncp\n`, /extra data is not canonical base64/],
      [`${HEADER}\nextra YQ\nindex 0\n\ncp\n`, /extra data is not canonical base64/],
      [`${HEADER}\nindex 0\nextra YQ==\n\ncp\n`, /proof hash 0 is not canonical base64/],
      [`${HEADER}\nindex5\n\ncp\n`, /missing the index/],
      [`${HEADER}\nindex \n\ncp\n`, /decimal/],
      [`${HEADER}\nindex  1\n\ncp\n`, /decimal/],
      [`${HEADER}\nindex 007\n\ncp\n`, /decimal/],
      [`${HEADER}\nindex +1\n\ncp\n`, /decimal/],
      [`${HEADER}\nindex -5\n\ncp\n`, /decimal/],
      [`${HEADER}\nindex 1e3\n\ncp\n`, /decimal/],
      [`${HEADER}\nindex 0x10\n\ncp\n`, /decimal/],
      [`${HEADER}\nindex 5\r\n\ncp\n`, /decimal/],
      [`${HEADER}\nindex 18446744073709551615\n\ncp\n`, /beyond 2\^53/],
      [`${HEADER}\nindex 9007199254740992\n\ncp\n`, /beyond 2\^53/],
      [`${HEADER}\nindex 0\n!!notbase64!!\n\ncp\n`, /proof hash 0 is not canonical base64/],
      [`${HEADER}\nindex 0\n${H64.slice(0, -1)}\n\ncp\n`, /proof hash 0 is not canonical base64/],
      [`${HEADER}\nindex 0\n${H64} \n\ncp\n`, /proof hash 0 is not canonical base64/],
      [
        `${HEADER}\nindex 0\n${H64.slice(0, 20)}\r${H64.slice(20)}\n\ncp\n`,
        /proof hash 0 is not canonical base64/,
      ],
      [
        `${HEADER}\nindex 0\n${H64}\n${H.toString('base64url')}\n\ncp\n`,
        /proof hash 1 is not canonical base64/,
      ],
      [`${HEADER}\nindex 0\n${H.subarray(1).toString('base64')}\n\ncp\n`, /proof hash 0 is 31 bytes/],
      [`${HEADER}\nindex 0\n${Buffer.alloc(64).toString('base64')}\n\ncp\n`, /proof hash 0 is 64 bytes/],
      [`${HEADER}\nindex 0\n\n`, /checkpoint must start with its origin line/],
      [`${HEADER}\nindex 0\n\n\ncp\n`, /checkpoint must start with its origin line/],
      [`${HEADER}\nindex 0\n\ncp`, /checkpoint must end with a newline/],
    ];
    for (const [text, message] of cases) rejects(text, message);
  });

  it('refuses to format what it could not parse', () => {
    for (const bad of [
      { index: -1, proof: [], checkpoint: 'cp\n' },
      { index: 2 ** 53, proof: [], checkpoint: 'cp\n' },
      { index: 0.5, proof: [], checkpoint: 'cp\n' },
      { index: 0, proof: [H.subarray(1)], checkpoint: 'cp\n' },
      { index: 0, proof: [], checkpoint: '' },
      { index: 0, proof: [], checkpoint: '\ncp\n' },
      { index: 0, proof: [], checkpoint: 'cp' },
    ]) {
      assert.throws(() => formatTlogProof(bad), RangeError, JSON.stringify(bad));
    }
  });
});
