/** The wire protocols an endpoint's upstream speaks. */
export type GatewayProtocol = 'open-inference-v2' | 'openai' | 'http';

/** What a call is, as far as its method and path tell: the operation and, where named, the model. */
export interface CallShape {
  /** e.g. `infer`, `model.metadata`, `chat.completions`, `embeddings`, or `other`. */
  readonly operation: string;
  readonly model?: string;
  readonly modelVersion?: string;
}

const OTHER: CallShape = Object.freeze({ operation: 'other' });

/**
 * Classifies a call by the endpoint's protocol, its method and its path below the endpoint (for
 * example `/v2/models/fraud/versions/3/infer`). OpenAI-compatible requests name their model in the
 * body, which `modelFromOpenAiBody` reads. Never throws: an unknown or malformed path is `other`.
 */
export function classifyCall(protocol: GatewayProtocol, method: string, path: string): CallShape {
  const segments = splitPath(path);
  if (segments === undefined) return OTHER;
  if (protocol === 'open-inference-v2') return classifyOip(method, segments);
  if (protocol === 'openai') return classifyOpenAi(method, segments);
  return OTHER;
}

/** The `model` field of an OpenAI-compatible JSON request body, if it is a non-empty string. */
export function modelFromOpenAiBody(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const model = (body as Record<string, unknown>).model;
  return typeof model === 'string' && model !== '' ? model.slice(0, 256) : undefined;
}

// Open Inference Protocol (KServe v2) REST paths.
function classifyOip(method: string, s: readonly string[]): CallShape {
  if (s[0] !== 'v2') return OTHER;
  if (s.length === 1 && method === 'GET') return { operation: 'server.metadata' };
  if (s[1] === 'health' && s.length === 3 && method === 'GET' && (s[2] === 'live' || s[2] === 'ready'))
    return { operation: `health.${s[2]}` };
  if (s[1] !== 'models' || s.length < 3) return OTHER;
  const model = s[2] as string;
  let rest = s.slice(3);
  let modelVersion: string | undefined;
  if (rest[0] === 'versions') {
    if (rest.length < 2) return OTHER;
    modelVersion = rest[1];
    rest = rest.slice(2);
  }
  const named = { model, ...(modelVersion !== undefined ? { modelVersion } : {}) };
  if (rest.length === 0 && method === 'GET') return { operation: 'model.metadata', ...named };
  if (rest.length === 1 && rest[0] === 'ready' && method === 'GET')
    return { operation: 'model.ready', ...named };
  if (rest.length === 1 && rest[0] === 'infer' && method === 'POST') return { operation: 'infer', ...named };
  return OTHER;
}

const OPENAI_POST: Readonly<Record<string, string>> = {
  'chat/completions': 'chat.completions',
  completions: 'completions',
  embeddings: 'embeddings',
};

function classifyOpenAi(method: string, s: readonly string[]): CallShape {
  if (s[0] !== 'v1') return OTHER;
  const rest = s.slice(1).join('/');
  if (method === 'POST' && Object.hasOwn(OPENAI_POST, rest))
    return { operation: OPENAI_POST[rest] as string };
  if (method === 'GET' && rest === 'models') return { operation: 'models.list' };
  return OTHER;
}

/** Decoded, non-empty path segments (query removed); undefined when the path is not decodable. */
function splitPath(path: string): string[] | undefined {
  const q = path.indexOf('?');
  const raw = (q === -1 ? path : path.slice(0, q)).split('/').filter((seg) => seg !== '');
  try {
    return raw.map((seg) => decodeURIComponent(seg));
  } catch {
    return undefined;
  }
}
