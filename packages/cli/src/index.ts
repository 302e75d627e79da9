export { main, ExitCode, USAGE, DEFAULT_SNAPSHOT_FILE, type CliIo } from './cli.ts';
export { CliError, CliErrorCode } from './cli-error.ts';
export { loadRegistry, type SnapshottableRegistry } from './load-registry.ts';
