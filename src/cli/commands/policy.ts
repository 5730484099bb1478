import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { WardenError } from '../../core/index.js';
import {
  diffBundles,
  formatDiff,
  formatTestSummary,
  issueText,
  loadBundleDir,
  type PolicyBundle,
  PolicyEngine,
  runBundleTests,
  validateBundle,
} from '../../policy/index.js';
import { callJson, clientOptions } from '../client.js';

/** What an offline policy command prints and the exit code it ends with. */
export interface PolicyCommandResult {
  readonly output: string;
  readonly exitCode: number;
}

/** A refused bundle as one line per problem (exit code 1); other errors propagate. */
function refused(err: unknown): PolicyCommandResult {
  if (!(err instanceof WardenError) || err.code !== 'WARDEN_INVALID_INPUT') throw err;
  const lines = err.issues.map((i) => `${i.field}: ${i.message}`);
  return { output: `INVALID: ${lines.length} problem(s)\n${lines.join('\n')}\n`, exitCode: 1 };
}

async function load(dir: string): Promise<PolicyBundle | PolicyCommandResult> {
  try {
    return await loadBundleDir(dir);
  } catch (err) {
    return refused(err);
  }
}

/** `warden policy validate DIR`: parse the bundle, validate every policy against its schema. */
export async function policyValidate(dir: string): Promise<PolicyCommandResult> {
  const bundle = await load(dir);
  if ('exitCode' in bundle) return bundle;
  const { errors, warnings } = validateBundle(bundle);
  const lines = [
    ...errors.map((i) => `error: ${issueText(i)}`),
    ...warnings.map((i) => `warning: ${issueText(i)}`),
  ];
  if (errors.length > 0)
    return { output: `INVALID: ${errors.length} error(s)\n${lines.join('\n')}\n`, exitCode: 1 };
  const engine = new PolicyEngine(bundle);
  const templates = bundle.policies.filter((p) => p.kind === 'template').length;
  lines.unshift(
    `OK: bundle ${engine.bundleHash}`,
    `  ${bundle.policies.length - templates} policies, ${templates} role templates, ${engine.actions.size} actions, ` +
      `${bundle.tests.length} test cases, ${bundle.bindings.length} shipped bindings`,
  );
  return { output: `${lines.join('\n')}\n`, exitCode: 0 };
}

/** `warden policy test DIR`: run the bundle's tests; exit 1 on any mismatch. */
export async function policyTest(
  dir: string,
  opts: { verbose?: boolean; json?: boolean } = {},
): Promise<PolicyCommandResult> {
  const bundle = await load(dir);
  if ('exitCode' in bundle) return bundle;
  let summary: ReturnType<typeof runBundleTests>;
  try {
    summary = runBundleTests(bundle);
  } catch (err) {
    return refused(err);
  }
  const output = opts.json
    ? `${JSON.stringify(summary, null, 2)}\n`
    : formatTestSummary(summary, opts.verbose);
  return { output, exitCode: summary.failed > 0 ? 1 : 0 };
}

/** `warden policy diff DIR --against DIR2`: what changes from DIR2 to DIR, and which decisions flip. */
export async function policyDiff(
  dir: string,
  against: string,
  opts: { json?: boolean; samples?: number } = {},
): Promise<PolicyCommandResult> {
  const to = await load(dir);
  if ('exitCode' in to) return to;
  const from = await load(against);
  if ('exitCode' in from) return from;
  try {
    const diff = diffBundles(from, to, opts.samples === undefined ? {} : { maxSamples: opts.samples });
    return { output: opts.json ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff), exitCode: 0 };
  } catch (err) {
    return refused(err);
  }
}

function emit(result: PolicyCommandResult): void {
  process.stdout.write(result.output);
  if (result.exitCode !== 0) process.exitCode = result.exitCode;
}

/** `warden policy ...`: offline validate, test and diff of policy bundle directories. */
export function policyCommand(program: Command): void {
  const policy = program.command('policy').description('validate, test and diff Cedar policy bundles');

  policy
    .command('validate')
    .description('parse a bundle and validate every policy and role template against its schema')
    .argument('<dir>', 'bundle directory (schema.cedarschema, roles/, guardrails/, tests/)')
    .action(async (dir: string) => emit(await policyValidate(dir)));

  policy
    .command('test')
    .description("run the bundle's tests/*.yaml cases; exit 1 on any mismatch")
    .argument('<dir>', 'bundle directory')
    .option('--verbose', 'list passing cases too')
    .option('--json', 'print the results as JSON')
    .action(async (dir: string, flags: { verbose?: boolean; json?: boolean }) =>
      emit(await policyTest(dir, flags)),
    );

  policy
    .command('diff')
    .description(
      'policies added, removed and changed from the active bundle (or --against DIR2) to DIR, and the decisions that flip',
    )
    .argument('<dir>', 'the new bundle directory')
    .option('--against <dir>', "compare with this bundle directory instead of the server's active bundle")
    .option('--url <url>', 'server URL (WARDEN_URL)')
    .option('--token <token>', 'API token (WARDEN_TOKEN)')
    .option('--samples <n>', 'most generated requests to decide (default 4000)', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
      return Number.parseInt(v, 10);
    })
    .option('--json', 'print the diff as JSON')
    .action(
      async (
        dir: string,
        flags: { against?: string; samples?: number; json?: boolean; url?: string; token?: string },
      ) => {
        if (flags.against !== undefined) return emit(await policyDiff(dir, flags.against, flags));
        const { files } = await callJson<{ files: Record<string, string> }>(
          clientOptions(flags),
          'GET',
          '/api/v1/policy/files',
        );
        const active = await mkdtemp(join(tmpdir(), 'warden-active-bundle-'));
        try {
          await writeBundleFiles(active, files);
          emit(await policyDiff(dir, active, flags));
        } finally {
          await rm(active, { recursive: true, force: true });
        }
      },
    );

  policy
    .command('apply')
    .description(
      'validate DIR locally, then apply it on the server: versioned by content hash, recorded, swapped atomically',
    )
    .argument('<dir>', 'bundle directory')
    .option('--url <url>', 'server URL (WARDEN_URL)')
    .option('--token <token>', 'API token (WARDEN_TOKEN)')
    .action(async (dir: string, flags: { url?: string; token?: string }) => {
      const validation = await policyValidate(dir);
      if (validation.exitCode !== 0) return emit(validation);
      const bundle = await loadBundleDir(dir);
      const applied = await callJson<{ version: number; hash: string }>(
        clientOptions(flags),
        'POST',
        '/api/v1/policy/bundles',
        {
          files: bundle.files,
        },
      );
      process.stdout.write(`applied bundle ${applied.hash} as version ${applied.version}\n`);
    });
}

/** Writes a bundle's files (relative paths) under `dir`. */
async function writeBundleFiles(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const target = join(dir, path);
    if (!target.startsWith(dir + sep)) throw new Error(`bundle file path escapes the bundle: ${path}`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
  }
}
