/**
 * bundle-size and bundle-size-react: minimal browser apps built by Vite for production from the
 * packages as a consumer installs them (packed, installed with npm: their dist/), against a bundle
 * of their dependencies alone, with the very imports that the app and the Eventloom modules in its
 * bundle make (read from their code), built the same way. Both gzipped (node:zlib, level 9),
 * JavaScript chunks together; target ≤ 1.3×.
 * - bundle-size (consumer/bundle-app/main.ts): an Eventloom, one event type, one projection,
 *   `createSync`; the dependencies: dexie, rxjs, zod, socket.io-client.
 * - bundle-size-react (consumer/bundle-app-react/main.tsx): the same app rendered with
 *   @eventloom/react's provider and hooks; the dependencies add react and react-dom.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, transformWithOxc, type Plugin, type Rolldown } from 'vite';
import { expect, it } from 'vitest';
import { reportBench } from '../../bench/node.ts';
import { installPackedProject } from './packed-project.ts';

const DEPS_ENTRY = 'virtual:eventloom-dependencies';
const OURS = /\/node_modules\/@eventloom\/[^/]+\/dist\/.+\.js$/;

it('bundle-size', async () => {
  await assertBundleSize('bundle-size', join('bundle-app', 'main.ts'), '/@eventloom/client/dist/sync/');
});

it('bundle-size-react', async () => {
  await assertBundleSize(
    'bundle-size-react',
    join('bundle-app-react', 'main.tsx'),
    '/@eventloom/react/dist/',
  );
});

async function assertBundleSize(name: string, entry: string, mustInclude: string): Promise<void> {
  const dir = await installPackedProject();
  const app = await bundle(dir, join(dir, entry));
  // Our modules in the app's bundle (from node_modules/@eventloom/*/dist), and the app itself.
  const ours = app.modules.filter((id) => OURS.test(id));
  expect(ours.some((id) => id.includes(mustInclude))).toBe(true);
  // What they use of the dependencies: each imported name, or the members read from it
  // (`z.object`), so that the baseline keeps only that.
  const used = new Map<string, Set<string>>();
  for (const id of [...ours, join(dir, entry)]) {
    const { code } = await transformWithOxc(await readFile(id, 'utf8'), id.replace(/\.js$/, '.ts'), {
      jsx: { runtime: 'automatic' },
    });
    for (const [dependency, names] of importsOf(code)) {
      if (dependency.startsWith('.') || dependency.startsWith('@eventloom/')) continue;
      const uses = used.get(dependency) ?? new Set<string>();
      used.set(dependency, uses);
      for (const local of names) {
        const members = [...code.matchAll(new RegExp(`\\b${local}\\.([A-Za-z_$][\\w$]*)`, 'g'))].map(
          (m) => `${local}.${m[1]!}`,
        );
        for (const use of members.length > 0 ? members : [local]) uses.add(use);
      }
    }
  }
  const lines = [...used].flatMap(([dependency, uses]) => {
    const names = new Set([...uses].map((u) => u.split('.')[0]!));
    return names.size === 0 ? [] : [`import { ${[...names].join(', ')} } from '${dependency}';`];
  });
  const source = `${lines.join('\n')}\nglobalThis.eventloomDependencies = [${[...used.values()].flatMap((u) => [...u]).join(', ')}];\n`;
  const deps = await bundle(dir, DEPS_ENTRY, {
    name: 'eventloom-dependencies',
    resolveId: (id) => (id === DEPS_ENTRY ? `\0${DEPS_ENTRY}` : undefined),
    load: (id) => (id === `\0${DEPS_ENTRY}` ? source : undefined),
  });
  console.log(
    `[bench] ${name}: app ${app.bytes} B (${app.gzip} B gzip, ${ours.length} Eventloom modules); dependencies alone ${deps.bytes} B (${deps.gzip} B gzip): ${[
      ...used,
    ]
      .map(([d, uses]) => `${d} { ${[...uses].join(', ')} }`)
      .join('; ')}`,
  );
  await reportBench({
    name,
    value: app.gzip,
    unit: 'bytes gzip',
    baseline: deps.gzip,
    target: 1.3,
    better: 'lower',
  });
}

/** Builds `input` for production in `root`, in memory; the JavaScript chunks' size, raw and gzipped, and their modules. */
async function bundle(
  root: string,
  input: string,
  plugin?: Plugin,
): Promise<{ bytes: number; gzip: number; modules: string[] }> {
  const output = (await build({
    configFile: false,
    root,
    logLevel: 'warn',
    plugins: plugin ? [plugin] : [],
    oxc: { jsx: { runtime: 'automatic' } },
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

/** The value imports a module makes from each package: `import { a, b as c } from 'pkg'` (type-only ones left out), by local name. */
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
