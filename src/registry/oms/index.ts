export { BUNDLE_MEDIA_TYPE } from './bundle.js';
export { IN_TOTO_PAYLOAD_TYPE, pae } from './dsse.js';
export { keyHint } from './ecdsa.js';
export type { OmsCheck } from './failure.js';
export {
  hashModelDir,
  type ModelFileDigest,
  type ModelManifest,
  type ModelWalkOptions,
} from './model-files.js';
export { GIT_PATHS } from './paths.js';
export { type OmsSignInput, signOms } from './sign.js';
export { type OmsResource, PREDICATE_TYPE, rootDigest, STATEMENT_TYPE } from './statement.js';
export {
  type OmsChainCertificate,
  type OmsManifestInput,
  type OmsRejected,
  type OmsSigner,
  type OmsTrust,
  type OmsVerification,
  type OmsVerified,
  type OmsVerifyInput,
  verifyOmsBundle,
} from './verify.js';
