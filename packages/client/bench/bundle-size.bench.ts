/**
 * bundle-size: a minimal browser app that uses the client with sync (bundle-app/main.ts: an
 * Eventloom, one event type, one projection, `createSync`), built by Vite for production, against
 * a bundle of its dependencies alone: dexie, rxjs, zod and socket.io-client, with the very imports
 * that the Eventloom modules in the app's bundle make (read from their source), built the same
 * way. Both gzipped (node:zlib, level 9), JavaScript chunks together; target ≤ 1.3×.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, transformWithOxc, type Plugin, type Rolldown } from 'vite';
import { expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';

const APP = join(dirname(fileURLToPath(import.meta.url)), 'bundle-app');
const DEPENDENCIES = ['dexie', 'rxjs', 'zod', 'socket.io-client'] as const;
const DEPS_ENTRY = 'virtual:eventloom-dependencies';

it('bundle-size', async () => {
  const app = await bundle(join(APP, 'main.ts'));
  // Our modules in the app's bundle, and what each imports from the dependencies.
  const ours = app.modules.filter((id) => /\/packages\/[^/]+\/src\/.+\.ts$/.test(id));
  expect(ours.some((id) => id.includes('/packages/client/src/sync/'))).toBe(true);
  // What they use of the dependencies, read from their code with the types stripped: each
  // imported name, or the members read from it (`z.object`), so that the baseline keeps only that.
  const used = new Map<string, Set<string>>(DEPENDENCIES.map((d) => [d, new Set()]));
  for (const id of ours) {
    const { code } = await transformWithOxc(await readFile(id, 'utf8'), id);
    for (const [dependency, names] of importsOf(code)) {
      for (const name of names) {
        const members = [...code.matchAll(new RegExp(`\\b${name}\\.([A-Za-z_$][\\w$]*)`, 'g'))].map(
          (m) => `${name}.${m[1]!}`,
        );
        for (const use of members.length > 0 ? members : [name]) used.get(dependency)?.add(use);
      }
    }
  }
  const lines = [...used].flatMap(([dependency, uses]) => {
    const names = new Set([...uses].map((u) => u.split('.')[0]!));
    return names.size === 0 ? [] : [`import { ${[...names].join(', ')} } from '${dependency}';`];
  });
  const source = `${lines.join('\n')}\nglobalThis.eventloomDependencies = [${[...used.values()].flatMap((u) => [...u]).join(', ')}];\n`;
  const deps = await bundle(DEPS_ENTRY, {
    name: 'eventloom-dependencies',
    resolveId: (id) => (id === DEPS_ENTRY ? `\0${DEPS_ENTRY}` : undefined),
    load: (id) => (id === `\0${DEPS_ENTRY}` ? source : undefined),
  });
  console.log(
    `[bench] bundle-size: app ${app.bytes} B (${app.gzip} B gzip, ${ours.length} Eventloom modules); dependencies alone ${deps.bytes} B (${deps.gzip} B gzip): ${[
      ...used,
    ]
      .map(([d, uses]) => `${d} { ${[...uses].join(', ')} }`)
      .join('; ')}`,
  );
  await reportBench({
    name: 'bundle-size',
    value: app.gzip,
    unit: 'bytes gzip',
    baseline: deps.gzip,
    target: 1.3,
    better: 'lower',
  });
});

/** Builds `input` for production, in memory; the JavaScript chunks' size, raw and gzipped, and their modules. */
async function bundle(
  input: string,
  plugin?: Plugin,
): Promise<{ bytes: number; gzip: number; modules: string[] }> {
  const output = (await build({
    configFile: false,
    root: APP,
    logLevel: 'warn',
    plugins: plugin ? [plugin] : [],
    build: { write: false, target: 'es2022', rolldownOptions: { input } },
  })) as Rolldown.RolldownOutput;
  const chunks = output.output.filter((o): o is Rolldown.OutputChunk => o.type === 'chunk');
  const code = chunks.map((c) => c.code).join('\n');
  return {
    bytes: Buffer.byteLength(code),
    gzip: gzipSync(code, { level: 9 }).length,
    modules: chunks.flatMap((c) => c.moduleIds),
  };
}

/** The value imports a module makes from each package: `import { a, b as c } from 'pkg'` (type-only ones left out). */
function importsOf(source: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const match of source.matchAll(/import\s+(?!type\s)\{([^}]*)\}\s+from\s+['"]([^'"]+)['"]/g)) {
    const names = match[1]!
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0 && !s.startsWith('type '))
      .map((s) => s.split(/\s+as\s+/)[0]!);
    found.set(match[2]!, [...(found.get(match[2]!) ?? []), ...names]);
  }
  return found;
}
