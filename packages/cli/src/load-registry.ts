import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RegistrySnapshot } from '@eventloom/core';
import { CliError, CliErrorCode } from './cli-error.ts';

/** What the CLI needs of a registry: its snapshot. An `EventRegistry` from `@eventloom/core` is one. */
export interface SnapshottableRegistry {
  snapshot(): RegistrySnapshot;
}

/**
 * Imports the module at `path` (relative to `cwd`; TypeScript works when the CLI runs under tsx,
 * as `bin/eventloom.js` does) and returns its registry: the default export, or the named export
 * `registry`. Throws a {@link CliError} when the file is missing, fails to load, or exports none.
 */
export async function loadRegistry(path: string, cwd: string): Promise<SnapshottableRegistry> {
  const file = resolve(cwd, path);
  try {
    await access(file);
  } catch (cause) {
    throw new CliError(CliErrorCode.missingFile, `registry module not found: ${path} (looked at ${file})`, {
      cause,
    });
  }
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CliError(CliErrorCode.badRegistry, `could not load the registry module ${path}: ${reason}`, {
      cause,
    });
  }
  for (const name of ['default', 'registry']) {
    if (isRegistry(exports[name])) return exports[name];
  }
  const names = Object.keys(exports).join(', ') || 'nothing';
  throw new CliError(
    CliErrorCode.badRegistry,
    `${path} exports no event registry: export it as default or as \`registry\` (it exports ${names})`,
  );
}

function isRegistry(value: unknown): value is SnapshottableRegistry {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<SnapshottableRegistry>).snapshot === 'function'
  );
}
