import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { startRuntime } from '../../server/runtime.js';
import { type ServerFlags, serverOptions, settingsFrom } from './server-flags.js';

/** `warden init`: first-run setup without serving (keys, schema, bootstrap admin). */
export function initCommand(program: Command): void {
  serverOptions(
    program.command('init').description('create the keys, the schema and the bootstrap admin, then exit'),
  ).action(async (flags: ServerFlags) => {
    const config = loadConfig(settingsFrom(flags), process.env, flags.config ?? process.env.WARDEN_CONFIG);
    const rt = await startRuntime({ ...config, logLevel: 'warn' });
    try {
      const lines = [`origin:       ${rt.ledger.origin}`, `verifier key: ${rt.ledger.verifierKey}`];
      if (!rt.bootstrap.bootstrapped) lines.push('already initialized: no new admin token');
      else if (rt.bootstrap.token) lines.push(`admin token:  ${rt.bootstrap.token}  (shown once)`);
      else lines.push('admin token:  the one given in WARDEN_BOOTSTRAP_TOKEN');
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      await rt.close();
    }
  });
}
