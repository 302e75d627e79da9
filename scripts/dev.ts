/**
 * `pnpm dev`: the sync hub (SQLite in ./data, insecure dev mode) and the demo's Vite dev server
 * together, the dev server proxying /socket.io to the hub; prints the URL to open. Ctrl-C stops
 * both. `EVENTLOOM_PORT` (hub, default 8080) and `EVENTLOOM_DEMO_PORT` (app, default 5173) move them.
 */
import { join } from 'node:path';
import { createServer } from 'vite';
import { ROOT, startDemoHub } from './demo-hub.ts';

const hub = await startDemoHub().catch((error: unknown) => {
  console.error(String(error instanceof Error ? error.message : error));
  console.error('\nIs another hub running on that port? Set EVENTLOOM_PORT to use another one.');
  process.exit(1);
});
process.env['EVENTLOOM_HUB_URL'] = hub.url;

const vite = await createServer({
  configFile: join(ROOT, 'apps', 'demo', 'vite.config.ts'),
  root: join(ROOT, 'apps', 'demo'),
  clearScreen: false,
  logLevel: 'warn',
});
await vite.listen();
const url = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${vite.config.server.port}/`;

console.log(`
  Eventloom demo: ${url}

  hub     ${hub.url} (SQLite ${process.env['EVENTLOOM_DB'] ?? 'data/events.db'}, insecure dev mode)
  open the URL in two browsers (or a normal and a private window) to see them sync.
  Ctrl-C stops both.
`);

let stopping = false;
const stop = async () => {
  // A Ctrl-C may arrive twice (from the terminal and relayed by a wrapper): stop once.
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([vite.close(), hub.stop()]);
  process.exit(0);
};
// Vite exits the process on SIGTERM once its server is closed; the hub must be stopped too.
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
hub.child.once('exit', (code) => {
  if (stopping) return;
  console.error(`the hub exited (${code}); stopping`);
  void vite.close().then(() => process.exit(1));
});
