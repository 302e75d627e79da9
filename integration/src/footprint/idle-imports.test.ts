/**
 * What an idle hub loads (hub-memory-rss measures its resident memory): every module costs heap
 * in the thread that loads it, so the SQLite thread and a plain `eventloom-hub` load only what
 * they use; and every worker thread is a heap of its own, so an idle hub starts none.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { createHub, createSqliteStore, insecureDevAuthenticator } from '@eventloom/hub';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { silent } from '../sync/sync-harness.node.ts';
import { describe, expect, it } from 'vitest';
import { staticImports, valueImports } from './static-imports.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('staticImports', () => {
  it('reads value imports and re-exports, and leaves type-only ones and import() out', () => {
    const source = [
      "import { a, type B } from './a.ts';",
      "import type { C } from 'c';",
      "import { type D, type E } from 'd';",
      "export { f } from './f.ts';",
      "export type { G } from 'g';",
      "export * from 'h';",
      "import 'side-effect';",
      'import {',
      '  one,',
      '  two,',
      "} from 'multi';",
      "const lazy = await import('lazy');",
    ].join('\n');
    expect(valueImports(source)).toEqual(['./a.ts', './f.ts', 'h', 'side-effect', 'multi']);
  });

  it('follows the workspace packages to their source', () => {
    const { files, packages } = staticImports(join(ROOT, 'packages', 'core', 'src', 'index.ts'));
    expect([...files].some((f) => f.endsWith(join('protocol', 'src', 'envelope.ts')))).toBe(true);
    expect(packages.has('zod')).toBe(true);
  });
});

describe('an idle hub', () => {
  it('runs its SQLite thread without zod (it never decodes a message)', () => {
    const { packages } = staticImports(join(ROOT, 'packages', 'hub', 'src', 'store', 'sqlite-worker.ts'));
    expect(packages.has('better-sqlite3')).toBe(true);
    expect([...packages].filter((p) => !p.startsWith('node:'))).toEqual(['better-sqlite3']);
  });

  it('loads neither the reactions nor rxjs unless it runs some (eventloom-hub, and @eventloom/hub)', () => {
    for (const entry of [
      join(ROOT, 'apps', 'hub', 'src', 'main.ts'),
      join(ROOT, 'packages', 'hub', 'src', 'index.ts'),
    ]) {
      const { files, packages } = staticImports(entry);
      expect(packages.has('socket.io')).toBe(true);
      expect(packages.has('rxjs')).toBe(false);
      const reactions = [...files].filter(
        (f) => f.includes(join('packages', 'core')) || f.includes(join('hub', 'src', 'reactions')),
      );
      expect(reactions).toEqual([]);
    }
  });

  it('runs on a SQLite file without a worker thread until an event is written', async () => {
    const started: Worker[] = [];
    const count = (worker: Worker) => started.push(worker);
    process.on('worker', count);
    const dir = mkdtempSync(join(tmpdir(), 'eventloom-idle-hub-'));
    try {
      const store = await createSqliteStore({ path: join(dir, 'hub.db') });
      const hub = await createHub({ store, auth: insecureDevAuthenticator(), logger: silent });
      try {
        expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(started).toHaveLength(0);
        // The count sees the commit thread the first event starts.
        await hub.append([{ event: sampleEnvelope({ clientSeq: 1 }) }]);
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(started).toHaveLength(1);
      } finally {
        await hub.close();
        await store.close();
      }
    } finally {
      process.off('worker', count);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
