import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  checkCompatibility,
  COMPATIBILITY_MODES,
  formatBreakingChange,
  parseCompatibilityMode,
  parseRegistrySnapshot,
  stringifyRegistrySnapshot,
  toCoreError,
  type RegistrySnapshot,
} from '@eventloom/core';
import { CliError, CliErrorCode } from './cli-error.ts';
import { loadRegistry } from './load-registry.ts';

/** Where the CLI writes and what it resolves paths against; the process's own by default. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
}

/** Exit codes: success (or compatible), breaking changes found, a mistake in the command or its inputs. */
export const ExitCode = { ok: 0, breaking: 1, error: 2 } as const;

/** The default snapshot file, at the working directory. */
export const DEFAULT_SNAPSHOT_FILE = 'eventloom.schema.json';

/** What `eventloom --help` prints. */
export const USAGE = `Usage: eventloom <command> [options]

Commands:
  schema snapshot   Write every event type's JSON Schemas and fingerprints to the snapshot file
  schema check      Check the registry against the snapshot file in a compatibility mode

Options:
  --registry <module>  The module exporting the event registry (default export or \`registry\`); .ts works
  --out <file>         snapshot: the file to write (default: ${DEFAULT_SNAPSHOT_FILE})
  --snapshot <file>    check: the committed snapshot (default: ${DEFAULT_SNAPSHOT_FILE})
  --mode <mode>        check: ${COMPATIBILITY_MODES.map(modeName).join(', ')}
                       (default: backward)
  --json               check: print the breaking changes as JSON
  -h, --help           Show this help

Exit codes: 0 done / compatible, 1 breaking changes found, 2 bad command or input.

Examples:
  eventloom schema snapshot --registry src/events.ts
  eventloom schema check --registry src/events.ts --mode full-transitive
`;

/**
 * Runs the CLI on its arguments (without `node` and the script) and returns the exit code. Never
 * throws: mistakes are printed to stderr with the usage hint and give exit code 2.
 *
 * @example process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`eventloom: ${error.message}\n`);
      if (error.code === CliErrorCode.usage) io.stderr('Run `eventloom --help` for usage.\n');
      return ExitCode.error;
    }
    const coreError = toCoreError(error);
    io.stderr(`eventloom: ${coreError.message}\n`);
    return ExitCode.error;
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (cause) {
    throw new CliError(CliErrorCode.usage, cause instanceof Error ? cause.message : String(cause), { cause });
  }
  const { values, positionals } = parsed;
  if (values.help || (positionals.length === 1 && positionals[0] === 'help')) {
    io.stdout(USAGE);
    return ExitCode.ok;
  }
  if (positionals.length === 0) {
    io.stderr(USAGE);
    return ExitCode.error;
  }
  const [group, command, ...rest] = positionals;
  if (group !== 'schema' || (command !== 'snapshot' && command !== 'check')) {
    throw new CliError(CliErrorCode.usage, `unknown command: ${positionals.join(' ')}`);
  }
  if (rest.length > 0) throw new CliError(CliErrorCode.usage, `unexpected argument: ${rest[0]}`);
  if (values.registry === undefined)
    throw new CliError(CliErrorCode.usage, `schema ${command} needs --registry <module>`);

  if (command === 'snapshot') {
    for (const flag of ['snapshot', 'mode', 'json'] as const) {
      if (values[flag] !== undefined) throw new CliError(CliErrorCode.usage, `--${flag} is for schema check`);
    }
    const registry = await loadRegistry(values.registry, io.cwd);
    const snapshot = registry.snapshot();
    const out = values.out ?? DEFAULT_SNAPSHOT_FILE;
    await writeFile(resolve(io.cwd, out), stringifyRegistrySnapshot(snapshot));
    io.stdout(`wrote ${out}: ${summary(snapshot)}, fingerprint ${snapshot.fingerprint.slice(0, 12)}\n`);
    return ExitCode.ok;
  }

  if (values.out !== undefined) throw new CliError(CliErrorCode.usage, '--out is for schema snapshot');
  const mode = parseCompatibilityMode(values.mode ?? 'backward');
  if (mode === undefined) {
    throw new CliError(
      CliErrorCode.usage,
      `unknown mode ${JSON.stringify(values.mode)}: use one of ${COMPATIBILITY_MODES.map(modeName).join(', ')}`,
    );
  }
  const snapshotFile = values.snapshot ?? DEFAULT_SNAPSHOT_FILE;
  const previous = await readSnapshot(snapshotFile, io.cwd);
  const registry = await loadRegistry(values.registry, io.cwd);
  const current = registry.snapshot();
  const breaking = checkCompatibility(previous, current, mode);
  if (values.json) {
    io.stdout(`${JSON.stringify({ mode, compatible: breaking.length === 0, breaking }, null, 2)}\n`);
    return breaking.length === 0 ? ExitCode.ok : ExitCode.breaking;
  }
  if (breaking.length === 0) {
    io.stdout(`compatible (${mode}) with ${snapshotFile}: ${summary(current)}\n`);
    if (current.fingerprint !== previous.fingerprint) {
      io.stdout('the schemas changed since the snapshot: run `eventloom schema snapshot` and commit it\n');
    }
    return ExitCode.ok;
  }
  const count = breaking.length === 1 ? '1 breaking change' : `${breaking.length} breaking changes`;
  io.stderr(`${count} (${mode}) against ${snapshotFile}:\n`);
  for (const change of breaking) io.stderr(`  ✗ ${formatBreakingChange(change)}\n`);
  return ExitCode.breaking;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      registry: { type: 'string' },
      out: { type: 'string' },
      snapshot: { type: 'string' },
      mode: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function readSnapshot(path: string, cwd: string): Promise<RegistrySnapshot> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), 'utf8');
  } catch (cause) {
    throw new CliError(
      CliErrorCode.missingFile,
      `cannot read the snapshot ${path}: ${(cause as { code?: string }).code === 'ENOENT' ? 'no such file' : String(cause)}; ` +
        'create it with `eventloom schema snapshot` and commit it',
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CliError(CliErrorCode.badSnapshot, `${path} is not JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  const result = parseRegistrySnapshot(json);
  if (!result.ok)
    throw new CliError(CliErrorCode.badSnapshot, `${path} is not a valid snapshot: ${result.error.message}`);
  return result.value;
}

function summary(snapshot: RegistrySnapshot): string {
  const types = Object.values(snapshot.events);
  const versions = types.reduce((n, t) => n + Object.keys(t.versions).length, 0);
  return `${types.length} event ${types.length === 1 ? 'type' : 'types'}, ${versions} ${versions === 1 ? 'version' : 'versions'}`;
}

/** A mode as the command line spells it: `full-transitive`. */
function modeName(mode: string): string {
  return mode.toLowerCase().replaceAll('_', '-');
}

function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  };
}
