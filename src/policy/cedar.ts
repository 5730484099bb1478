import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import type { EntityRef } from './types.js';

const ENTITY_TEXT = /^((?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)::"((?:[^"\\]|\\.)*)"$/;

/** Cedar's literal form of an entity, e.g. `Project::"fraud"`. */
export function entityText(ref: EntityRef): string {
  return `${ref.type}::${JSON.stringify(ref.id)}`;
}

/** Parses `Type::"id"` (Cedar's literal form); undefined when the text is not one. */
export function parseEntityText(text: string): EntityRef | undefined {
  const m = ENTITY_TEXT.exec(text.trim());
  if (!m) return undefined;
  try {
    return { type: m[1] as string, id: JSON.parse(`"${m[2] as string}"`) as string };
  } catch {
    return undefined;
  }
}

/** Where a byte offset falls in a text: 1-based line and column (columns count characters). */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Cedar reports UTF-8 byte offsets; this turns one into a line and column of `text`. */
export function positionAt(text: string, byteOffset: number): Position {
  const before = Buffer.from(text, 'utf8').subarray(0, Math.max(0, byteOffset)).toString('utf8');
  const lines = before.split('\n');
  return { line: lines.length, column: [...(lines[lines.length - 1] ?? '')].length + 1 };
}

/** The UTF-8 byte length of a text (to turn a character index into a Cedar offset). */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A Cedar error as one line: message, the label of its first source span, and the help text. */
export function errorText(error: DetailedError): string {
  const label = error.sourceLocations?.find((l) => l.label)?.label;
  return [error.message, label ? `(${label})` : '', error.help ? `— ${error.help}` : '']
    .filter(Boolean)
    .join(' ');
}

/** The first byte offset a Cedar error points at, if any. */
export function errorOffset(error: DetailedError): number | undefined {
  return error.sourceLocations?.[0]?.start;
}
