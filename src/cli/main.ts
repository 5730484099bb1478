#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { WardenError } from '../core/index.js';
import { ApiError } from './client.js';
import { alertCommand } from './commands/alert.js';
import { apiCommands } from './commands/api.js';
import { auditCommand } from './commands/audit.js';
import { datasetCommand } from './commands/dataset.js';
import { endpointCommand } from './commands/endpoint.js';
import { identityCommands } from './commands/identity.js';
import { initCommand } from './commands/init.js';
import { lineageCommand } from './commands/lineage.js';
import { modelCommand } from './commands/model.js';
import { modelWorkflowCommands } from './commands/model-workflow.js';
import { policyCommand } from './commands/policy.js';
import { projectCommand } from './commands/project.js';
import { promotionCommand } from './commands/promotion.js';
import { serveCommand } from './commands/serve.js';

const program = new Command('warden')
  .description('Warden: access control and a verifiable audit ledger for ML models, datasets and endpoints')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

// Program options (--version) only before the command, so `model pull --version 3` reaches pull.
program.enablePositionalOptions();
serveCommand(program);
initCommand(program);
auditCommand(program);
policyCommand(program);
apiCommands(program);
identityCommands(program);
projectCommand(program);
datasetCommand(program);
lineageCommand(program);
// The workflow's subcommands (promote, approve, …) join the registry's `model` command.
modelWorkflowCommands(modelCommand(program));
promotionCommand(program);
endpointCommand(program);
alertCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof ApiError || err instanceof WardenError) {
    process.stderr.write(`warden: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`warden: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
