/**
 * The hub of the attack soak (test-only), in a process of its own so that its memory is its own:
 * a SQLite hub on a temporary file, JWT auth with the test secret. Tells its URL over IPC, then
 * answers each `rss` message with its resident set size, and exits on `stop`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createSqliteStore } from '../store/sqlite-store.ts';
import { jwtAuthenticator } from './authenticator.ts';
import { createHub } from './create-hub.ts';
import { TEST_SECRET } from './test-kit.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-soak-'));
const store = await createSqliteStore({ path: join(dir, 'events.db') });
const hub = await createHub({
  store,
  auth: jwtAuthenticator({ secret: TEST_SECRET }),
  logger: pino({ level: 'silent' }),
  limits: { gapTimeoutMs: 3_000 },
});
process.send!({ url: hub.url });
process.on('message', (message: string) => {
  if (message === 'rss') process.send!({ rss: process.memoryUsage().rss });
  if (message === 'stop') {
    void hub
      .close()
      .then(() => store.close())
      .finally(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      });
  }
});
