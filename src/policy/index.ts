export {
  type ActiveBundle,
  Authorizer,
  DEFAULT_BUNDLE_DIR,
  PLATFORM,
  type RequestFacts,
  type ResourceResolver,
} from './authorizer.js';
export {
  BINDABLE_PRINCIPALS,
  Bindings,
  type NewBinding,
  type RoleBinding as StoredBinding,
} from './bindings.js';
export {
  BINDINGS_FILE,
  type BundlePolicy,
  bundleFromFiles,
  bundleHash,
  isBundleFile,
  loadBundleDir,
  type PolicyBundle,
  SCHEMA_FILE,
} from './bundle.js';
export type { TestCase, TestExpectation } from './cases.js';
export { entityText, parseEntityText } from './cedar.js';
export {
  type BundleDiff,
  type DecisionFlip,
  type DecisionSummary,
  type DiffOptions,
  diffBundles,
  formatDiff,
} from './diff.js';
export {
  type BindingConsideration,
  type BindingStatus,
  type Explanation,
  type PolicyConsideration,
  PolicyEngine,
  type PolicyEngineOptions,
} from './engine.js';
export type { ActionInfo } from './schema.js';
export {
  type CaseOutcome,
  type CaseResult,
  formatTestSummary,
  runBundleTests,
  type TestSummary,
} from './test-runner.js';
export type {
  AuthorizationRequest,
  CedarValue,
  DecisionError,
  EntityData,
  EntityRef,
  PolicyDecision,
  RoleBinding,
} from './types.js';
export {
  type BundleIssue,
  type BundleValidation,
  bundleRefused,
  issueText,
  validateBundle,
} from './validate.js';
