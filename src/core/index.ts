export { canonicalJson } from './canonical.js';
export { type Clock, RFC3339_PATTERN, rfc3339, systemClock } from './clock.js';
export {
  ERROR_CODES,
  type ErrorCode,
  type FieldIssue,
  invalidInput,
  notFound,
  WardenError,
} from './errors.js';
export { constantTimeEqual, sha256, sha256Hex } from './hash.js';
export { newId } from './ids.js';
