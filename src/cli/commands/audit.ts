import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import {
  type ExportEntry,
  type ExportHeader,
  exportSource,
  parseVkey,
  readSignerKeyFile,
  type VerifyResult,
  verifyLog,
  verifyStore,
  writeExportDir,
} from '../../ledger/index.js';
import { openStore } from '../../store/index.js';
import { type ApiFlags, call, callJson, clientOptions } from '../client.js';
import { type ServerFlags, serverOptions, settingsFrom } from './server-flags.js';

/** `warden audit ...`: verify, export and query the ledger. */
export function auditCommand(program: Command): void {
  const audit = program.command('audit').description('verify, export and query the audit ledger');

  serverOptions(
    audit
      .command('verify')
      .description(
        'check every leaf, the tree, every checkpoint signature and their consistency; exit 1 naming the first bad index',
      )
      .option('--export <dir>', 'verify an export directory offline instead of the live store')
      .option(
        '--vkey <key>',
        "verifier key to trust (default: the deployment key, or the export's vkey file)",
      )
      .option('--quiet', 'no progress output'),
  ).action(async (flags: ServerFlags & { export?: string; vkey?: string; quiet?: boolean }) => {
    const progress = flags.quiet ? undefined : (n: number) => process.stderr.write(`\rverified ${n} entries`);
    let result: VerifyResult;
    if (flags.export !== undefined) {
      if (flags.vkey === undefined && !flags.quiet) {
        process.stderr.write(
          'note: trusting the verifier key inside the export; pass --vkey to pin the real one\n',
        );
      }
      const src = await exportSource(flags.export, flags.vkey);
      result = await verifyLog({ ...src, ...(progress ? { onProgress: progress } : {}) });
    } else {
      const config = loadConfig(settingsFrom(flags), process.env, flags.config ?? process.env.WARDEN_CONFIG);
      const key =
        flags.vkey !== undefined ? parseVkey(flags.vkey) : await readSignerKeyFile(config.signingKeyFile);
      const store = await openStore({
        databaseUrl: config.databaseUrl,
        sqlitePath: config.sqlitePath,
        poolSize: 1,
      });
      try {
        result = await verifyStore(store.db, key, progress, { store });
      } finally {
        await store.close();
      }
    }
    if (progress) process.stderr.write('\n');
    if (result.ok) {
      process.stdout.write(
        `OK: ${result.size} entries, ${result.checkpoints} checkpoint(s) verified${result.purged ? `, ${result.purged} purged bodies checked by their kept hashes` : ''}\n`,
      );
      return;
    }
    process.stdout.write(`FAILED at index ${result.index}: ${result.kind}: ${result.message}\n`);
    process.exitCode = 1;
  });

  audit
    .command('export')
    .description('write entries, checkpoint and verifier key to a directory for offline verification')
    .requiredOption('--out <dir>', 'directory to write')
    .option('--from <index>', 'first entry (default 0)')
    .option('--to <index>', 'end of the range, exclusive (default: the latest checkpoint size)')
    .option('--url <url>', 'server URL (WARDEN_URL)')
    .option('--token <token>', 'API token (WARDEN_TOKEN)')
    .action(async (flags: ApiFlags & { out: string; from?: string; to?: string }) => {
      const q = new URLSearchParams();
      if (flags.from !== undefined) q.set('from', flags.from);
      if (flags.to !== undefined) q.set('to', flags.to);
      const res = await call(clientOptions(flags), 'GET', `/api/v1/audit/export?${q}`);
      if (res.body === null) throw new Error('the server sent no export');
      const lines = createInterface({
        input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        crlfDelay: Number.POSITIVE_INFINITY,
      });
      async function* parsed() {
        for await (const line of lines) if (line !== '') yield JSON.parse(line) as ExportHeader | ExportEntry;
      }
      const { entries, header } = await writeExportDir(flags.out, parsed());
      process.stdout.write(
        `exported ${entries} entries [${header.from}, ${header.to}) of ${header.size} to ${flags.out}\n`,
      );
    });

  audit
    .command('events')
    .description('query ledger events; prints one JSON object per line')
    .option('--actor <id>', 'actor id')
    .option('--action <action>', 'action, e.g. event.ingest')
    .option('--resource-type <type>', 'resource type')
    .option('--resource-id <id>', 'resource id')
    .option('--outcome <outcome>', 'allowed|denied|succeeded|failed')
    .option('--project <project>', 'project')
    .option('--since <time>', 'RFC 3339 time (inclusive)')
    .option('--until <time>', 'RFC 3339 time (exclusive)')
    .option('--limit <n>', 'events per page', '100')
    .option('--all', 'follow cursors until the last page')
    .option('--wait', 'wait until pending events are integrated first')
    .option('--url <url>', 'server URL (WARDEN_URL)')
    .option('--token <token>', 'API token (WARDEN_TOKEN)')
    .action(async (flags: ApiFlags & Record<string, string | boolean | undefined>) => {
      const client = clientOptions(flags);
      const names: Record<string, string> = { resourceType: 'resourceType', resourceId: 'resourceId' };
      let cursor: string | null = null;
      do {
        const q = new URLSearchParams();
        for (const key of [
          'actor',
          'action',
          'resourceType',
          'resourceId',
          'outcome',
          'project',
          'since',
          'until',
          'limit',
        ]) {
          const v = flags[key];
          if (typeof v === 'string') q.set(names[key] ?? key, v);
        }
        if (flags.wait) q.set('wait', 'integrated');
        if (cursor !== null) q.set('cursor', cursor);
        const page: { events: unknown[]; next: string | null } = await callJson(
          client,
          'GET',
          `/api/v1/audit/events?${q}`,
        );
        for (const e of page.events) process.stdout.write(`${JSON.stringify(e)}\n`);
        cursor = page.next;
      } while (flags.all && cursor !== null);
    });
}
