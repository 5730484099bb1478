import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { type ApiFlags, call, callJson, clientOptions, print, withApi } from '../client.js';

/** `warden events`, `warden ledger`, `warden legal-hold`: thin API calls. */
export function apiCommands(program: Command): void {
  const events = program.command('events').description('send external events into the ledger');
  withApi(
    events
      .command('send <file>')
      .description('send a CloudEvents 1.0 JSON file (one event or an array of up to 1,000); "-" reads stdin')
      .option('--wait', 'wait until the events are integrated and print their sequence numbers'),
  ).action(async (file: string, flags: ApiFlags & { wait?: boolean }) => {
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    const batch = text.trimStart().startsWith('[');
    const res = await call(
      clientOptions(flags),
      'POST',
      `/api/v1/events${flags.wait ? '?wait=integrated' : ''}`,
      text,
      batch ? 'application/cloudevents-batch+json' : 'application/cloudevents+json',
    );
    print(await res.json());
  });

  const ledger = program.command('ledger').description('ledger facts and proofs');
  withApi(ledger.command('info').description('origin, verifier key, size and latest checkpoint')).action(
    async (flags: ApiFlags) => print(await callJson(clientOptions(flags), 'GET', '/api/v1/ledger/info')),
  );
  withApi(
    ledger
      .command('proof <eventId>')
      .description('print the C2SP tlog-proof of one event (inclusion in the latest checkpoint)'),
  ).action(async (eventId: string, flags: ApiFlags) => {
    const res = await call(
      clientOptions(flags),
      'GET',
      `/api/v1/audit/events/${encodeURIComponent(eventId)}/proof?wait=integrated`,
    );
    process.stdout.write(await res.text());
  });

  const hold = program.command('legal-hold').description('legal holds that block retention purges');
  withApi(
    hold
      .command('create')
      .description('place a hold on events by project, resource and/or time range')
      .requiredOption('--reason <text>', 'why the hold exists')
      .option('--project <project>', 'project')
      .option('--resource-type <type>', 'resource type')
      .option('--resource-id <id>', 'resource id')
      .option('--from <time>', 'RFC 3339 start (inclusive)')
      .option('--to <time>', 'RFC 3339 end (exclusive)'),
  ).action(async (flags: ApiFlags & Record<string, string | undefined>) => {
    const body = Object.fromEntries(
      ['reason', 'project', 'resourceType', 'resourceId', 'from', 'to']
        .filter((k) => flags[k] !== undefined)
        .map((k) => [k, flags[k]]),
    );
    print(await callJson(clientOptions(flags), 'POST', '/api/v1/legal-holds', body));
  });
  withApi(
    hold.command('list').description('list active holds').option('--all', 'include released holds'),
  ).action(async (flags: ApiFlags & { all?: boolean }) =>
    print(
      await callJson(
        clientOptions(flags),
        'GET',
        `/api/v1/legal-holds?released=${flags.all ? 'include' : 'exclude'}`,
      ),
    ),
  );
  withApi(
    hold
      .command('release <id>')
      .description('release a hold')
      .requiredOption('--reason <text>', 'why it is released'),
  ).action(async (id: string, flags: ApiFlags & { reason: string }) =>
    print(
      await callJson(clientOptions(flags), 'POST', `/api/v1/legal-holds/${encodeURIComponent(id)}/release`, {
        reason: flags.reason,
      }),
    ),
  );
  withApi(
    ledger
      .command('purge')
      .description('run retention now: purge event bodies older than the retention period (held events stay)')
      .option('--older-than-days <days>', 'override the configured retention period'),
  ).action(async (flags: ApiFlags & { olderThanDays?: string }) =>
    print(
      await callJson(
        clientOptions(flags),
        'POST',
        '/api/v1/ledger/retention/run',
        flags.olderThanDays !== undefined ? { olderThanDays: Number(flags.olderThanDays) } : {},
      ),
    ),
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
