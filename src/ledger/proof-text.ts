import { ProofError } from './merkle.js';

/*
 * C2SP tlog-proof (c2sp.org/tlog-proof): a self-contained, offline-verifiable proof that an entry is in a
 * log, as UTF-8 lines ending in U+000A. Line 1 is `c2sp.org/tlog-proof@v1`. An optional `extra <base64>`
 * line carries opaque, unauthenticated application data. Then `index <n>`: the entry's zero-based index in
 * ASCII decimal without leading zeroes. Then zero or more lines, each one base64 SHA-256 hash of the
 * RFC 6962 inclusion proof, from the leaf's sibling up to the root's child. Then an empty line, and the
 * log's checkpoint (a tlog-checkpoint signed note, with any witness cosignatures) verbatim. Base64 is the
 * RFC 4648 §4 standard alphabet with padding; this parser accepts only canonical encodings.
 */

const HEADER = 'c2sp.org/tlog-proof@v1';
const INDEX = /^(?:0|[1-9]\d*)$/;

/** A tlog-proof: entry index, inclusion proof hashes, the checkpoint note text and optional extra data. */
export interface TlogProof {
  readonly index: number;
  readonly proof: readonly Buffer[];
  readonly checkpoint: string;
  readonly extra?: Buffer | undefined;
}

function checkpointProblem(checkpoint: string): string | undefined {
  if (checkpoint === '' || checkpoint.startsWith('\n'))
    return 'the checkpoint must start with its origin line';
  if (!checkpoint.endsWith('\n')) return 'the checkpoint must end with a newline';
  return undefined;
}

/** The tlog-proof text; throws RangeError on an unsafe index, a hash not 32 bytes, or a malformed checkpoint. */
export function formatTlogProof({ index, proof, checkpoint, extra }: TlogProof): string {
  if (!Number.isSafeInteger(index) || index < 0)
    throw new RangeError('index must be a non-negative safe integer');
  proof.forEach((hash, i) => {
    if (hash.length !== 32) throw new RangeError(`proof hash ${i} is ${hash.length} bytes, not 32`);
  });
  const problem = checkpointProblem(checkpoint);
  if (problem !== undefined) throw new RangeError(problem);
  const lines = [HEADER];
  if (extra !== undefined) lines.push(`extra ${extra.toString('base64')}`);
  lines.push(`index ${index}`, ...proof.map((hash) => hash.toString('base64')));
  return `${lines.join('\n')}\n\n${checkpoint}`;
}

function decodeBase64(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new ProofError(`tlog-proof: ${what} is not canonical base64`);
  return bytes;
}

/** Parses tlog-proof text; throws ProofError naming the first malformed part. The checkpoint is not verified. */
export function parseTlogProof(text: string): TlogProof {
  const blank = text.indexOf('\n\n');
  if (blank === -1) throw new ProofError('tlog-proof: no empty line before the checkpoint');
  const lines = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  if (lines.shift() !== HEADER) throw new ProofError(`tlog-proof: the first line must be ${HEADER}`);
  let extra: Buffer | undefined;
  if (lines[0]?.startsWith('extra '))
    extra = decodeBase64(lines.shift()!.slice('extra '.length), 'extra data');
  const indexLine = lines.shift();
  if (!indexLine?.startsWith('index ')) throw new ProofError('tlog-proof: missing the index line');
  const indexText = indexLine.slice('index '.length);
  if (!INDEX.test(indexText))
    throw new ProofError('tlog-proof: index must be decimal without leading zeroes');
  const index = Number(indexText);
  if (!Number.isSafeInteger(index)) throw new ProofError(`tlog-proof: index ${indexText} is beyond 2^53 - 1`);
  const proof = lines.map((line, i) => {
    const hash = decodeBase64(line, `proof hash ${i}`);
    if (hash.length !== 32)
      throw new ProofError(`tlog-proof: proof hash ${i} is ${hash.length} bytes, not 32`);
    return hash;
  });
  const problem = checkpointProblem(checkpoint);
  if (problem !== undefined) throw new ProofError(`tlog-proof: ${problem}`);
  return extra === undefined ? { index, proof, checkpoint } : { index, proof, checkpoint, extra };
}
