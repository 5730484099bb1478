import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SseUsageScanner, usageFromJson } from '../../src/gateway/index.js';

const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ delta: { content } }] })}\n\n`;
const STREAM = [
  ': keep-alive comment\n\n',
  chunk('Hel'),
  chunk('lo é 😀'),
  'data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}\r\n\r\n',
  'data: [DONE]\n\n',
].join('');

function scan(parts: readonly Uint8Array[]): SseUsageScanner {
  const s = new SseUsageScanner();
  for (const p of parts) s.push(p);
  s.end();
  return s;
}

describe('token usage', () => {
  it('reads usage from a JSON response and ignores malformed counts', () => {
    assert.deepEqual(usageFromJson({ usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }), {
      prompt: 3,
      completion: 4,
      total: 7,
    });
    assert.deepEqual(usageFromJson({ usage: { prompt_tokens: 3, total_tokens: -1 } }), { prompt: 3 });
    assert.equal(usageFromJson({ usage: { prompt_tokens: '3' } }), undefined);
    assert.equal(usageFromJson(null), undefined);
  });

  it('finds the final usage chunk of an event stream and counts the chunks', () => {
    const s = scan([Buffer.from(STREAM)]);
    assert.deepEqual(s.usage, { prompt: 12, completion: 5, total: 17 });
    assert.equal(s.events, 3);
  });

  it('gives the same result however the stream is split', () => {
    const bytes = Buffer.from(STREAM);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const parts = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
          const s = scan(parts);
          assert.deepEqual(s.usage, { prompt: 12, completion: 5, total: 17 });
          assert.equal(s.events, 3);
        },
      ),
    );
  });

  it('skips oversized lines without keeping them and still reads later events', () => {
    const s = new SseUsageScanner();
    s.push(Buffer.from(`data: ${'x'.repeat(1_100_000)}\n\n`));
    s.push(Buffer.from('data: {"usage":{"total_tokens":2}}\n\n'));
    s.end();
    assert.deepEqual(s.usage, { total: 2 });
    assert.equal(s.events, 1);
  });
});
