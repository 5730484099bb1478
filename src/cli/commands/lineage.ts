import { type Command, Option } from 'commander';
import { type ApiFlags, callJson, clientOptions, print, withApi } from '../client.js';

/** `warden lineage <kind> <id> [--direction up|down] [--depth n]`. */
export function lineageCommand(program: Command): void {
  withApi(
    program
      .command('lineage <kind> <id>')
      .description(
        'walk lineage from a dataset, model_version or deployment: up (what it came from) or down (what was made from it)',
      )
      .addOption(new Option('--direction <dir>', 'up or down').choices(['up', 'down']).default('up'))
      .option('--depth <n>', 'how many steps to walk (default 50)', Number),
  ).action(async (kind: string, id: string, flags: ApiFlags & { direction: string; depth?: number }) => {
    const q = new URLSearchParams({ direction: flags.direction });
    if (flags.depth !== undefined) q.set('depth', String(flags.depth));
    print(
      await callJson(
        clientOptions(flags),
        'GET',
        `/api/v1/lineage/${encodeURIComponent(kind)}/${encodeURIComponent(id)}?${q}`,
      ),
    );
  });
}
