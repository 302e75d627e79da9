/**
 * `pnpm dev`: the sync hub (SQLite in ./data, insecure dev mode) and the demo's Vite dev server
 * together, the dev server proxying /socket.io to the hub; prints the URL to open. Ctrl-C stops
 * both. `EVENTLOOM_PORT` (hub, default 8080) and `EVENTLOOM_DEMO_PORT` (app, default 5173) move
 * them; `pnpm dev --reset` starts from an empty log (see {@link resetDemoData}).
 */
import { join } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { demoDatabase, resetDemoData, ROOT, startDemoHub, type DemoHub } from './demo-hub.ts';

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--reset');
if (unknown.length > 0) {
  console.error(`pnpm dev: unknown option ${unknown.join(' ')} (the only one is --reset)`);
  process.exit(2);
}

let hub: DemoHub | undefined;
let vite: ViteDevServer | undefined;
let stopping = false;
const stop = async () => {
  // A Ctrl-C may arrive twice (from the terminal and relayed by a wrapper), or during the start: stop once.
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([vite?.close(), hub?.stop()]);
  process.exit(0);
};
// Before anything starts, so that a Ctrl-C during the start stops what has started (the hub runs
// in a process group of its own, which the terminal's Ctrl-C does not reach).
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

if (args.includes('--reset')) {
  const removed = await resetDemoData();
  console.log(
    removed.length === 0
      ? `--reset: no log at ${demoDatabase()} yet`
      : `--reset: removed ${removed.join(', ')}`,
  );
}

hub = await startDemoHub().catch((error: unknown) => {
  console.error(String(error instanceof Error ? error.message : error));
  console.error('\nIs another hub running on that port? Set EVENTLOOM_PORT to use another one.');
  process.exit(1);
});
if (stopping) await new Promise(() => {}); // stop() finishes and exits
process.env['EVENTLOOM_HUB_URL'] = hub.url;

vite = await createServer({
  configFile: join(ROOT, 'apps', 'demo', 'vite.config.ts'),
  root: join(ROOT, 'apps', 'demo'),
  clearScreen: false,
  logLevel: 'warn',
});
// Vite exits the process on SIGTERM once its server is closed; the hub must be stopped too.
process.removeAllListeners('SIGTERM');
process.on('SIGTERM', () => void stop());
await vite.listen();
const url = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${vite.config.server.port}/`;

console.log(`
  Eventloom demo: ${url}

  hub     ${hub.url} (SQLite ${demoDatabase()}, insecure dev mode)
  open the URL in two browsers (or a normal and a private window) to see them sync.
  The service worker works here too: go offline in the browser's dev tools and reload.
  Ctrl-C stops both; \`pnpm dev --reset\` starts again from an empty board.
`);

hub.child.once('exit', (code) => {
  if (stopping) return;
  console.error(`the hub exited (${code}); stopping`);
  void vite?.close().then(() => process.exit(1));
});
