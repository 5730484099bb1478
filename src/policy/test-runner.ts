import type { PolicyBundle } from './bundle.js';
import type { TestCase, TestExpectation } from './cases.js';
import { PolicyEngine } from './engine.js';
import type { PolicyDecision } from './types.js';

/** What a case got, in the terms its expectation uses. */
export interface CaseOutcome {
  readonly decision: 'allow' | 'deny';
  readonly policies: readonly string[];
  readonly reason: string;
  readonly errors: readonly string[];
}

/** One case's result: passed, or the mismatches between what it expected and what it got. */
export interface CaseResult {
  readonly file: string;
  readonly name: string;
  readonly passed: boolean;
  readonly expected: TestExpectation;
  readonly got: CaseOutcome;
  readonly mismatches: readonly string[];
}

/** The results of a bundle's tests. */
export interface TestSummary {
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  readonly results: readonly CaseResult[];
}

/** A clock the runner sets to each case's `now`. */
class CaseClock {
  time = Date.now();
  now(): number {
    return this.time;
  }
}

/** Decides one test case on an engine whose clock the caller controls. */
export function decideCase(
  engine: PolicyEngine,
  clock: { time: number },
  c: TestCase,
  runAt: number,
): PolicyDecision {
  clock.time = c.now ?? runAt;
  engine.setBindings(c.bindings);
  return engine.decide({
    principal: c.principal,
    action: c.action,
    resource: c.resource,
    context: c.context,
    entities: c.entities,
  });
}

/** The differences between what a case expected and the decision it got, in words. */
export function mismatchesOf(expected: TestExpectation, got: PolicyDecision): string[] {
  const out: string[] = [];
  const decision = got.allowed ? 'allow' : 'deny';
  if (decision !== expected.decision) out.push(`decision: expected ${expected.decision}, got ${decision}`);
  const want = [...expected.policies].sort().join(', ');
  const have = got.policies.join(', ');
  if (want !== have) out.push(`policies: expected [${want}], got [${have}]`);
  if (expected.reason !== undefined && !got.reason.includes(expected.reason)) {
    out.push(`reason: expected it to contain "${expected.reason}", got "${got.reason}"`);
  }
  if (expected.errors !== undefined && expected.errors !== got.errors.length > 0) {
    out.push(
      expected.errors
        ? 'errors: expected evaluation errors, got none'
        : `errors: expected none, got ${got.errors.length}`,
    );
  }
  return out;
}

/** Runs every test case of a (valid) bundle; throws if the bundle itself is refused. */
export function runBundleTests(bundle: PolicyBundle): TestSummary {
  const clock = new CaseClock();
  const engine = new PolicyEngine(bundle, [], { clock });
  const runAt = Date.now();
  const results = bundle.tests.map((c): CaseResult => {
    let decision: PolicyDecision;
    let mismatches: string[];
    try {
      decision = decideCase(engine, clock, c, runAt);
      mismatches = mismatchesOf(c.expect, decision);
    } catch (err) {
      // A binding the engine refuses (e.g. it clashes with a shipped binding's id) fails the case, not the run.
      const message = `the case's bindings were refused: ${err instanceof Error ? err.message : String(err)}`;
      decision = {
        allowed: false,
        policies: [],
        bindings: [],
        reason: message,
        errors: [{ message }],
        bundle: '',
      };
      mismatches = [message];
    }
    return Object.freeze({
      file: c.file,
      name: c.name,
      passed: mismatches.length === 0,
      expected: c.expect,
      got: Object.freeze({
        decision: decision.allowed ? 'allow' : 'deny',
        policies: decision.policies,
        reason: decision.reason,
        errors: Object.freeze(
          decision.errors.map((e) => (e.policy ? `${e.policy}: ${e.message}` : e.message)),
        ),
      }),
      mismatches: Object.freeze(mismatches),
    });
  });
  const passed = results.filter((r) => r.passed).length;
  return Object.freeze({
    total: results.length,
    passed,
    failed: results.length - passed,
    results: Object.freeze(results),
  });
}

/** The summary as text: each failure with its mismatches (every case with `verbose`), then the counts. */
export function formatTestSummary(summary: TestSummary, verbose = false): string {
  const lines: string[] = [];
  for (const r of summary.results) {
    if (r.passed && !verbose) continue;
    lines.push(`${r.passed ? 'PASS' : 'FAIL'} ${r.file}: ${r.name}`);
    for (const m of r.mismatches) lines.push(`     ${m}`);
    if (!r.passed) {
      lines.push(`     reason: ${r.got.reason}`);
      for (const e of r.got.errors) lines.push(`     error: ${e}`);
    }
  }
  lines.push(`${summary.passed} passed, ${summary.failed} failed, ${summary.total} total`);
  return `${lines.join('\n')}\n`;
}
