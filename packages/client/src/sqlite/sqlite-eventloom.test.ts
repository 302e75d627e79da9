import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeEventloom } from '../testing/describe-eventloom.ts';
import { SqliteClientStore } from './sqlite-client-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-loom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The client's behaviour through its public API, on the SQLite store: one file per database name,
// so reopening a name (persistence, a second instance) opens the same file.
describeEventloom('Node on SQLite', {
  store: (name) => new SqliteClientStore({ path: join(dir, `${name}.db`) }),
});
