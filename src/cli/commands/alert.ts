import { type Command, Option } from 'commander';
import { type ApiFlags, callJson, clientOptions, print, withApi } from '../client.js';

/** `warden alert list|show|ack|resolve|lift|deliveries|retry`: misuse alerts and their webhook deliveries. */
export function alertCommand(program: Command): void {
  const alert = program
    .command('alert')
    .description('misuse alerts: list, acknowledge, resolve; webhook deliveries');
  withApi(
    alert
      .command('list')
      .description('list alerts, newest first')
      .addOption(
        new Option('--status <status>', 'only alerts in this state').choices([
          'open',
          'acknowledged',
          'resolved',
        ]),
      )
      .option(
        '--kind <kind>',
        'only this kind (rate_spike, auth_failures, denied_actions, oversized, off_hours, bulk_reads)',
      )
      .addOption(
        new Option('--severity <severity>', 'only this severity').choices(['info', 'warning', 'critical']),
      )
      .option('--project <project>', 'only alerts about this project')
      .option('--after <id>', 'continue after this alert id (the previous page’s "next")')
      .option('--limit <n>', 'page size (default 100)', Number),
  ).action(
    async (
      flags: ApiFlags & {
        status?: string;
        kind?: string;
        severity?: string;
        project?: string;
        after?: string;
        limit?: number;
      },
    ) => {
      const q = new URLSearchParams();
      for (const key of ['status', 'kind', 'severity', 'project', 'after', 'limit'] as const) {
        const v = flags[key];
        if (v !== undefined) q.set(key, String(v));
      }
      print(await callJson(clientOptions(flags), 'GET', `/api/v1/alerts?${q}`));
    },
  );
  withApi(alert.command('show <id>').description('one alert with its details')).action(
    async (id: string, flags: ApiFlags) =>
      print(await callJson(clientOptions(flags), 'GET', `/api/v1/alerts/${encodeURIComponent(id)}`)),
  );
  for (const [name, verb, what] of [
    ['ack', 'acknowledge', 'acknowledge an open alert'],
    ['resolve', 'resolve', 'resolve an alert'],
    ['lift', 'lift-suspension', 'end now the suspension an alert imposed on a token or principal'],
  ] as const) {
    withApi(
      alert.command(`${name} <id>`).description(what).option('--note <text>', 'why (recorded in the ledger)'),
    ).action(async (id: string, flags: ApiFlags & { note?: string }) =>
      print(
        await callJson(
          clientOptions(flags),
          'POST',
          `/api/v1/alerts/${encodeURIComponent(id)}/${verb}`,
          flags.note !== undefined ? { note: flags.note } : {},
        ),
      ),
    );
  }
  withApi(
    alert
      .command('deliveries')
      .description('webhook deliveries of alerts (--status dead for the dead-letter list)')
      .addOption(
        new Option('--status <status>', 'only deliveries in this state').choices([
          'pending',
          'delivered',
          'dead',
        ]),
      )
      .option('--limit <n>', 'how many (default 100)', Number),
  ).action(async (flags: ApiFlags & { status?: string; limit?: number }) => {
    const q = new URLSearchParams();
    if (flags.status !== undefined) q.set('status', flags.status);
    if (flags.limit !== undefined) q.set('limit', String(flags.limit));
    print(await callJson(clientOptions(flags), 'GET', `/api/v1/alerts/deliveries?${q}`));
  });
  withApi(alert.command('retry <delivery-id>').description('queue a dead webhook delivery again')).action(
    async (id: string, flags: ApiFlags) =>
      print(
        await callJson(
          clientOptions(flags),
          'POST',
          `/api/v1/alerts/deliveries/${encodeURIComponent(id)}/retry`,
        ),
      ),
  );
}
