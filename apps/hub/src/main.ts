#!/usr/bin/env node
/**
 * The `eventloom-hub` command: reads flags and environment, starts the hub, and shuts it down
 * gracefully on SIGTERM or SIGINT (a second signal exits at once). `eventloom-hub export` and
 * `eventloom-hub import` copy the log out and in as NDJSON instead.
 */
import { HubError } from '@eventloom/hub';
import { HUB_SERVER_HELP, parseHubServerConfig } from './hub-server-config.ts';
import { runLogTransfer } from './log-transfer-command.ts';
import { startHubServer } from './start-hub-server.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'export' || argv[0] === 'import') {
  process.exit(await runLogTransfer(argv, process.env));
}
const parsed = parseHubServerConfig(argv, process.env);
if (!parsed.ok) {
  process.stderr.write(`eventloom-hub: ${parsed.error}\nRun eventloom-hub --help for the options.\n`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(`${HUB_SERVER_HELP}\n`);
  process.exit(0);
}

let server;
try {
  server = await startHubServer(parsed.config);
} catch (error) {
  const message = error instanceof HubError ? error.message : String(error);
  process.stderr.write(`eventloom-hub: ${message}\n`);
  process.exit(1);
}

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) {
    server.logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  server.logger.info({ signal }, 'stopping: refusing new work, finishing in-flight commits');
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      server.logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
