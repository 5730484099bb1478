import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { startRuntime } from '../../server/runtime.js';
import { redactUrl } from '../../store/index.js';
import { type ServerFlags, serverOptions, settingsFrom } from './server-flags.js';

/** `warden serve`: runs the API, gateway, ledger integrator and tiles on one port. */
export function serveCommand(program: Command): void {
  serverOptions(
    program
      .command('serve')
      .description('run the Warden server (bootstraps on first start)')
      .option('--host <address>', 'address to listen on (WARDEN_HOST)')
      .option('--port <port>', 'port to listen on (WARDEN_PORT)'),
  ).action(async (flags: ServerFlags & { host?: string; port?: string }) => {
    const config = loadConfig(
      {
        ...settingsFrom(flags),
        ...(flags.host ? { host: flags.host } : {}),
        ...(flags.port ? { port: flags.port } : {}),
      },
      process.env,
      flags.config ?? process.env.WARDEN_CONFIG,
    );
    const rt = await startRuntime(config);
    const address = await rt.app.listen({ host: config.host, port: config.port });
    const info = await rt.ledger.info();
    const lines = [
      `Warden is listening on ${address}`,
      `  API:          ${address}/api/v1 (OpenAPI: ${address}/api/v1/openapi.json)`,
      `  store:        ${config.databaseUrl ? redactUrl(config.databaseUrl) : config.sqlitePath}`,
      `  ledger:       origin ${info.origin}, ${info.size} entries`,
      `  verifier key: ${info.verifierKey}`,
    ];
    if (rt.bootstrap.bootstrapped) {
      lines.push(
        rt.bootstrap.token
          ? `  admin token:  ${rt.bootstrap.token}\n                (shown once: store it now, e.g. export WARDEN_TOKEN=...)`
          : '  admin token:  the one given in WARDEN_BOOTSTRAP_TOKEN',
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      rt.app.log.info({ signal }, 'shutting down: draining requests and integrating pending events');
      rt.close().then(
        () => process.exit(0),
        (err) => {
          rt.app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}
