import {
  checkParseSchema,
  type DetailedError,
  templateToJson,
  validate,
} from '@cedar-policy/cedar-wasm/nodejs';
import { invalidInput, type WardenError } from '../core/index.js';
import { type BundlePolicy, type PolicyBundle, SCHEMA_FILE } from './bundle.js';
import { errorOffset, errorText, positionAt } from './cedar.js';

/** One problem found in a bundle, located in its file. */
export interface BundleIssue {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** The `@id` of the policy at fault, if the problem is in a policy. */
  readonly policy?: string;
  readonly message: string;
}

/** The outcome of validating a bundle against its own schema: errors refuse it, warnings do not. */
export interface BundleValidation {
  readonly errors: readonly BundleIssue[];
  readonly warnings: readonly BundleIssue[];
}

/** `file:line:col: policy: message`, the form editors and CI logs link to. */
export function issueText(issue: BundleIssue): string {
  const where = [issue.file, issue.line, issue.column].filter((p) => p !== undefined).join(':');
  return `${where}: ${issue.policy ? `${issue.policy}: ` : ''}${issue.message}`;
}

function schemaIssue(schema: string, e: DetailedError): BundleIssue {
  const at = errorOffset(e);
  const pos = at === undefined ? {} : positionAt(schema, at);
  return { file: SCHEMA_FILE, ...pos, message: errorText(e) };
}

function policyIssue(bundle: PolicyBundle, policy: BundlePolicy | undefined, id: string, e: DetailedError) {
  if (policy === undefined) return { file: '(bundle)', policy: id, message: errorText(e) };
  const at = errorOffset(e);
  const pos = positionAt(bundle.files[policy.file] ?? '', policy.offset + (at ?? 0));
  // Cedar prefixes messages with "for policy `id`, "; the issue names the policy itself.
  const message = errorText(e).replace(/^for policy `[^`]*`, /, '');
  return { file: policy.file, ...pos, policy: policy.id, message };
}

/** Role templates bind a principal to a resource, so both slots must be there. */
function slotIssues(policies: readonly BundlePolicy[]): BundleIssue[] {
  const out: BundleIssue[] = [];
  for (const p of policies.filter((q) => q.kind === 'template')) {
    const json = templateToJson(p.text);
    if (json.type === 'failure') continue;
    const hasSlot = (c: { op: string }, slot: string) => 'slot' in c && c.slot === slot;
    const missing = [
      hasSlot(json.json.principal, '?principal') ? undefined : 'principal in ?principal',
      hasSlot(json.json.resource, '?resource') ? undefined : 'resource in ?resource',
    ].filter((m) => m !== undefined);
    if (missing.length > 0) {
      out.push({
        file: p.file,
        line: p.line,
        column: 1,
        policy: p.id,
        message: `a role template's scope needs ${missing.join(' and ')}`,
      });
    }
  }
  return out;
}

/** Parses the bundle's schema and validates every policy and template against it (strict mode). */
export function validateBundle(bundle: PolicyBundle): BundleValidation {
  const parsed = checkParseSchema(bundle.schema);
  if (parsed.type === 'failure') {
    return Object.freeze({ errors: parsed.errors.map((e) => schemaIssue(bundle.schema, e)), warnings: [] });
  }
  const byId = new Map(bundle.policies.map((p) => [p.id, p]));
  const answer = validate({
    schema: bundle.schema,
    validationSettings: { mode: 'strict' },
    policies: {
      staticPolicies: Object.fromEntries(
        bundle.policies.filter((p) => p.kind === 'static').map((p) => [p.id, p.text]),
      ),
      templates: Object.fromEntries(
        bundle.policies.filter((p) => p.kind === 'template').map((p) => [p.id, p.text]),
      ),
    },
  });
  if (answer.type === 'failure') {
    return Object.freeze({
      errors: answer.errors.map((e) => ({ file: '(bundle)', message: errorText(e) })),
      warnings: [],
    });
  }
  const errors = [
    ...answer.validationErrors.map((v) => policyIssue(bundle, byId.get(v.policyId), v.policyId, v.error)),
    ...slotIssues(bundle.policies),
  ];
  const warnings = [
    ...answer.validationWarnings.map((v) => policyIssue(bundle, byId.get(v.policyId), v.policyId, v.error)),
    ...answer.otherWarnings.map((e) => ({ file: '(bundle)', message: errorText(e) })),
  ];
  return Object.freeze({ errors: Object.freeze(errors), warnings: Object.freeze(warnings) });
}

/** The error that refuses a bundle: WARDEN_INVALID_INPUT with one issue per problem, each naming file:line:col. */
export function bundleRefused(errors: readonly BundleIssue[]): WardenError {
  return invalidInput(
    errors.map((i) => ({
      field: [i.file, i.line, i.column].filter((p) => p !== undefined).join(':'),
      message: `${i.policy ? `${i.policy}: ` : ''}${i.message}`,
    })),
  );
}
