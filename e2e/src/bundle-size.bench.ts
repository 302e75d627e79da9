/**
 * bundle-size and bundle-size-react: minimal browser apps built by Vite for production from the
 * packages as a consumer installs them (packed, installed with npm: their dist/), against a bundle
 * of their dependencies alone, with the very imports that the app and the Eventloom modules in its
 * bundle make (read from their syntax trees, never from comments), built the same way. Both
 * gzipped (node:zlib, level 9), JavaScript chunks together; target ≤ 1.3×.
 * - bundle-size (consumer/bundle-app/main.ts): an Eventloom, one event type, one projection,
 *   `createSync`; the dependencies: dexie, rxjs, zod, socket.io-client.
 * - bundle-size-react (consumer/bundle-app-react/main.tsx): the same app rendered with
 *   @eventloom/react's provider and hooks; the dependencies add react and react-dom.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, parseAst, transformWithOxc, type Plugin, type Rolldown } from 'vite';
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
  // What they use of the dependencies, read from their syntax tree (so never from a comment):
  // each imported binding, or the members read from it (`z.object`), so that the baseline keeps
  // only that.
  const used = new Map<string, DependencyUse>();
  for (const id of [...ours, join(dir, entry)]) {
    const { code } = await transformWithOxc(await readFile(id, 'utf8'), id.replace(/\.js$/, '.ts'), {
      jsx: { runtime: 'automatic' },
    });
    collectUses(code, used);
  }
  const lines = [...used].map(([dependency, use]) => {
    const clause = [
      ...(use.defaultName === undefined ? [] : [use.defaultName]),
      ...(use.named.size === 0 ? [] : [`{ ${[...use.named.keys()].join(', ')} }`]),
    ].join(', ');
    return `import ${clause} from '${dependency}';`;
  });
  const values = [...used.values()].flatMap((use) => [
    ...(use.defaultName === undefined
      ? []
      : use.defaultMembers.size > 0
        ? [...use.defaultMembers]
        : [use.defaultName]),
    ...[...use.named].flatMap(([name, members]) => (members.size > 0 ? [...members] : [name])),
  ]);
  const source = `${lines.join('\n')}\nglobalThis.eventloomDependencies = [${values.join(', ')}];\n`;
  const deps = await bundle(dir, DEPS_ENTRY, {
    name: 'eventloom-dependencies',
    resolveId: (id) => (id === DEPS_ENTRY ? `\0${DEPS_ENTRY}` : undefined),
    load: (id) => (id === `\0${DEPS_ENTRY}` ? source : undefined),
  });
  console.log(
    `[bench] ${name}: app ${app.bytes} B (${app.gzip} B gzip, ${ours.length} Eventloom modules); dependencies alone ${deps.bytes} B (${deps.gzip} B gzip): ${[
      ...used,
    ]
      .map(([d, use]) => `${d} { ${describeUse(use)} }`)
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
  // Vite takes NODE_ENV from the process when it is set, and vitest sets it to `test`: that would
  // build for development (socket.io's debug build, `debug` and `ms` on both sides). A consumer's
  // `vite build` runs with NODE_ENV=production, so this one does too.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  const output = (await build({
    mode: 'production',
    configFile: false,
    root,
    logLevel: 'warn',
    plugins: plugin ? [plugin] : [],
    oxc: { jsx: { runtime: 'automatic' } },
    build: { write: false, target: 'es2022', rolldownOptions: { input } },
  }).finally(() => {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  })) as Rolldown.RolldownOutput;
  const chunks = output.output.filter((o): o is Rolldown.OutputChunk => o.type === 'chunk');
  const code = chunks.map((c) => c.code).join('\n');
  return {
    bytes: Buffer.byteLength(code),
    gzip: gzipSync(code, { level: 9 }).length,
    modules: chunks.flatMap((c) => c.moduleIds),
  };
}

/**
 * What the modules use of one dependency: its default export and its named exports (under a
 * local name of the baseline's own), each with the members read from it (`z.object`), if any.
 */
interface DependencyUse {
  defaultName: string | undefined;
  readonly defaultMembers: Set<string>;
  /** By exported name: the members read from it, as `name.member`. */
  readonly named: Map<string, Set<string>>;
}

function describeUse(use: DependencyUse): string {
  return [
    ...(use.defaultName === undefined ? [] : [`default ${[...use.defaultMembers].join(' ')}`.trim()]),
    ...[...use.named].map(([name, members]) => (members.size > 0 ? [...members].join(', ') : name)),
  ].join(', ');
}

/** A node of the ESTree that `parseAst` gives, as far as this walk needs. */
type AstNode = { readonly type: string } & Record<string, unknown>;

/**
 * Adds to `used` the imports `code` (JavaScript) makes from packages (not relative paths nor our
 * own packages): `import d, { a, b as c } from 'x'` and `import * as ns from 'x'` (taken as its
 * members), and for each binding the members the module reads from it.
 */
function collectUses(code: string, used: Map<string, DependencyUse>): void {
  const ast = parseAst(code) as unknown as { body: AstNode[] };
  /** Local binding → where its members go. */
  const members = new Map<string, (member: string) => void>();
  for (const node of ast.body) {
    if (node.type !== 'ImportDeclaration') continue;
    const dependency = (node['source'] as { value: string }).value;
    if (dependency.startsWith('.') || dependency.startsWith('@eventloom/')) continue;
    const use = used.get(dependency) ?? {
      defaultName: undefined,
      defaultMembers: new Set(),
      named: new Map(),
    };
    used.set(dependency, use);
    for (const specifier of node['specifiers'] as AstNode[]) {
      const local = (specifier['local'] as { name: string }).name;
      if (specifier.type === 'ImportDefaultSpecifier') {
        use.defaultName ??= `default_${used.size}`;
        const name = use.defaultName;
        members.set(local, (m) => use.defaultMembers.add(`${name}.${m}`));
      } else if (specifier.type === 'ImportNamespaceSpecifier') {
        // Only its members are used (a namespace read whole would keep the whole package anyway).
        members.set(local, (m) => {
          if (!use.named.has(m)) use.named.set(m, new Set());
        });
      } else {
        const imported = specifier['imported'] as { name?: string; value?: string };
        const name = imported.name ?? imported.value!;
        const set = use.named.get(name) ?? new Set<string>();
        use.named.set(name, set);
        members.set(local, (m) => set.add(`${name}.${m}`));
      }
    }
  }
  walk(ast as unknown as AstNode, (node) => {
    if (node.type !== 'MemberExpression' || node['computed'] === true) return;
    const object = node['object'] as AstNode;
    const property = node['property'] as AstNode;
    if (object.type !== 'Identifier' || property.type !== 'Identifier') return;
    members.get(object['name'] as string)?.(property['name'] as string);
  });
}

function walk(node: AstNode, visit: (node: AstNode) => void): void {
  visit(node);
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) walk(item, visit);
    } else if (isNode(value)) walk(value, visit);
  }
}

function isNode(value: unknown): value is AstNode {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}
