import type { Command } from 'commander';
import type { SettingName } from '../../config/index.js';

/** Flags shared by every command that opens the store directly. */
export interface ServerFlags {
  config?: string;
  dataDir?: string;
  databaseUrl?: string;
}

/** Adds --config, --data-dir and --database-url to a command. */
export function serverOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON config file (WARDEN_CONFIG)')
    .option('--data-dir <dir>', 'data directory (WARDEN_DATA_DIR, default ./.warden)')
    .option(
      '--database-url <url>',
      'PostgreSQL URL (WARDEN_DATABASE_URL); default is SQLite in the data directory',
    );
}

/** The config overrides the flags give. */
export function settingsFrom(flags: ServerFlags): Partial<Record<SettingName, string>> {
  return {
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
  };
}
