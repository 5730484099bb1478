import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BUNDLE_DIR } from '../../src/policy/index.js';
import { type Backend, freshBackend } from '../support/backends.js';
import {
  freePort,
  newToken,
  runCli,
  type ServerProcess,
  spawnServer,
  waitReady,
} from '../support/process.js';

describe('warden policy apply | diff against a running server', () => {
  let backend: Backend;
  let server: ServerProcess;
  let dir: string;
  let profileDir: string;
  const admin = newToken();
  const env = () => ({
    WARDEN_URL: server.url,
    WARDEN_TOKEN: admin,
    WARDEN_PROFILE: join(profileDir, 'profile.json'),
  });

  before(async () => {
    backend = await freshBackend('sqlite');
    server = spawnServer(await freePort(), {
      WARDEN_DATA_DIR: backend.dataDir,
      WARDEN_BOOTSTRAP_TOKEN: admin,
      WARDEN_LOG_LEVEL: 'warn',
    });
    await waitReady(server);
    dir = await mkdtemp(join(tmpdir(), 'warden-bundle-'));
    profileDir = await mkdtemp(join(tmpdir(), 'warden-profile-'));
    await cp(DEFAULT_BUNDLE_DIR, dir, { recursive: true });
  });
  after(async () => {
    await server?.kill();
    await backend?.drop();
    await rm(dir, { recursive: true, force: true });
    await rm(profileDir, { recursive: true, force: true });
  });

  it('diff with no --against compares with the active bundle; apply makes the change active and versioned', async () => {
    const same = await runCli(['policy', 'diff', dir], env());
    assert.equal(same.code, 0, same.stderr);
    const role = join(dir, 'roles', 'security-auditor.cedar');
    const text = await readFile(role, 'utf8');
    await writeFile(
      role,
      text.replace('Action::"audit.query",', 'Action::"audit.query",\n    Action::"metrics.read",'),
    );
    const changed = await runCli(['policy', 'diff', dir, '--json'], env());
    assert.equal(changed.code, 0, changed.stderr);
    const diff = JSON.parse(changed.stdout) as { changed: string[]; added: string[]; removed: string[] };
    assert.deepEqual(diff.changed, ['role:security-auditor']);
    assert.deepEqual([...diff.added, ...diff.removed], []);

    const applied = await runCli(['policy', 'apply', dir], env());
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^applied bundle [0-9a-f]{64} as version 1$/m);
    const after = await runCli(['policy', 'diff', dir, '--json'], env());
    assert.deepEqual((JSON.parse(after.stdout) as { changed: unknown[] }).changed, []);
  });

  it('apply refuses a broken bundle locally, naming the policy and position, and changes nothing', async () => {
    await writeFile(
      join(dir, 'guardrails', 'broken.cedar'),
      '@id("guardrail:broken")\nforbid (principal, action, resource) when { principal.nope };\n',
    );
    const res = await runCli(['policy', 'apply', dir], env());
    assert.equal(res.code, 1);
    assert.match(res.stdout, /guardrails\/broken\.cedar:2:\d+/);
    assert.match(res.stdout, /guardrail:broken/);
    const info = await fetch(`${server.url}/api/v1/policy`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(((await info.json()) as { version: number }).version, 1);
  });
});
