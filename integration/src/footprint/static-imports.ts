/**
 * The modules a TypeScript entry of the workspace loads when it is imported: its static value
 * imports and re-exports, followed through relative paths and through the workspace's own packages
 * (`@eventloom/x[/sub]`, by their `exports`), transitively. Type-only imports are left out (they
 * are erased), and so are dynamic `import()`s (loaded only when the code runs them). What it
 * answers is the set of files reached and the registry packages they import.
 *
 * It reads the source with a regular expression, not a parser: good enough for this repository's
 * formatted code (one statement per import, `import type` and `type X` specifiers spelled out).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const WORKSPACE_DIRS = ['packages', 'apps'];

export interface StaticImports {
  /** Every workspace file reached, absolute. */
  readonly files: ReadonlySet<string>;
  /** Every registry package imported by one of them (`zod`, `rxjs`, `node:fs`…), by name. */
  readonly packages: ReadonlySet<string>;
}

/** What importing `entry` (an absolute `.ts` path) loads; see the module comment. */
export function staticImports(entry: string): StaticImports {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of valueImports(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier));
      else {
        const local = workspaceEntry(specifier);
        if (local === undefined) packages.add(packageName(specifier));
        else pending.push(local);
      }
    }
  }
  return { files, packages };
}

/** The specifiers of the value imports and re-exports of a module's source. */
export function valueImports(source: string): string[] {
  const found: string[] = [];
  const statement =
    /^(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(statement)) {
    if (match[5] !== undefined) {
      found.push(match[5]);
      continue;
    }
    if (match[2] !== undefined) continue;
    const clause = match[3]!;
    const named = /^\{([^}]*)\}$/.exec(clause.trim());
    // `import { type A, type B } from` is erased too (verbatimModuleSyntax keeps an empty import,
    // which this repository's code never writes; counted as loading, to be safe).
    if (named !== null) {
      const names = named[1]!
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      if (names.length > 0 && names.every((s) => s.startsWith('type '))) continue;
    }
    found.push(match[4]!);
  }
  return found;
}

/** `@scope/name/sub` → `@scope/name`; `zod/mini` → `zod`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The source file a workspace package's specifier resolves to, by its `exports`; undefined for any other package. */
function workspaceEntry(specifier: string): string | undefined {
  if (!specifier.startsWith('@eventloom/')) return undefined;
  const name = packageName(specifier);
  const subpath = `.${specifier.slice(name.length)}`;
  for (const base of WORKSPACE_DIRS) {
    for (const dir of listDirs(join(ROOT, base))) {
      const manifestPath = join(dir, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
        name?: string;
        exports?: Record<string, string>;
      };
      if (manifest.name !== name) continue;
      const target = manifest.exports?.[subpath];
      if (target === undefined) throw new Error(`${specifier}: ${name} exports no ${subpath}`);
      return resolve(dir, target);
    }
  }
  throw new Error(`${specifier}: no workspace package ${name}`);
}

/** The folders directly under `dir`. */
function listDirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(dir, entry.name));
}
