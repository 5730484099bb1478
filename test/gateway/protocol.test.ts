import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { classifyCall, modelFromOpenAiBody } from '../../src/gateway/index.js';

describe('classifyCall', () => {
  it('names the Open Inference Protocol operation and model', () => {
    const oip = (method: string, path: string) => classifyCall('open-inference-v2', method, path);
    assert.deepEqual(oip('POST', '/v2/models/fraud/infer'), { operation: 'infer', model: 'fraud' });
    assert.deepEqual(oip('POST', '/v2/models/fraud/versions/3/infer?x=1'), {
      operation: 'infer',
      model: 'fraud',
      modelVersion: '3',
    });
    assert.deepEqual(oip('GET', '/v2/models/fr%20aud'), { operation: 'model.metadata', model: 'fr aud' });
    assert.deepEqual(oip('GET', '/v2/models/fraud/versions/2/ready'), {
      operation: 'model.ready',
      model: 'fraud',
      modelVersion: '2',
    });
    assert.deepEqual(oip('GET', '/v2/health/ready'), { operation: 'health.ready' });
    assert.deepEqual(oip('GET', '/v2'), { operation: 'server.metadata' });
    assert.deepEqual(oip('GET', '/v2/models/fraud/infer'), { operation: 'other' });
    assert.deepEqual(oip('POST', '/v2/models/fraud/versions/infer'), { operation: 'other' });
    assert.deepEqual(oip('POST', '/v2/models/%E0%A4%A/infer'), { operation: 'other' });
  });

  it('names OpenAI-compatible operations; the model comes from the body', () => {
    const ai = (method: string, path: string) => classifyCall('openai', method, path);
    assert.deepEqual(ai('POST', '/v1/chat/completions'), { operation: 'chat.completions' });
    assert.deepEqual(ai('POST', '/v1/completions'), { operation: 'completions' });
    assert.deepEqual(ai('POST', '/v1/embeddings'), { operation: 'embeddings' });
    assert.deepEqual(ai('GET', '/v1/models'), { operation: 'models.list' });
    assert.deepEqual(ai('GET', '/v1/chat/completions'), { operation: 'other' });
    assert.deepEqual(ai('POST', '/v1/constructor'), { operation: 'other' });
    assert.equal(modelFromOpenAiBody({ model: 'gpt-x', messages: [] }), 'gpt-x');
    assert.equal(modelFromOpenAiBody({ model: 3 }), undefined);
    assert.equal(modelFromOpenAiBody([{ model: 'a' }]), undefined);
    assert.equal(classifyCall('http', 'POST', '/v2/models/a/infer').operation, 'other');
  });

  it('never throws, whatever the path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('open-inference-v2', 'openai', 'http' as const),
        fc.constantFrom('GET', 'POST', 'PUT'),
        fc.string(),
        (protocol, method, path) => {
          const shape = classifyCall(protocol, method, path);
          assert.equal(typeof shape.operation, 'string');
        },
      ),
    );
  });
});
