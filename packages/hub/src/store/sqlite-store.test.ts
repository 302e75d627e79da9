import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { HubError } from '../hub/hub-error.ts';
import { principalKey } from '../hub/principal-key.ts';
import type { CommittedJson, EventStore } from './event-store.ts';
import { describeEventStore } from './describe-event-store.ts';
import {
  migrateSqlite,
  sqliteMigrations,
  SQLITE_APPLICATION_ID,
  type SqliteMigration,
} from './sqlite-migrations.ts';
import { FILTERED_PAGE_SQL, openSqliteDatabase } from './sqlite-log.ts';
import { createSqliteStore } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'eventloom-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(dir, `log-${++files}.db`);

const paths = new WeakMap<EventStore, string>();
const openFile = async (path: string) => {
  const store = await createSqliteStore({ path });
  paths.set(store, path);
  return store;
};

describeEventStore('sqlite file', () => openFile(newPath()), {
  reopen: async (store) => {
    await store.close();
    return openFile(paths.get(store)!);
  },
  propertyRuns: 40,
});

describeEventStore('sqlite :memory:', () => createSqliteStore({ path: ':memory:' }), { propertyRuns: 40 });

describe('createSqliteStore', () => {
  it('opens files in WAL mode with synchronous=FULL', () => {
    const db = openSqliteDatabase({ path: newPath() });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });

  it('creates the schema with its uniques, at the latest version', async () => {
    const path = newPath();
    await (await createSqliteStore({ path })).close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(sqliteMigrations.length);
      expect(db.pragma('application_id', { simple: true })).toBe(SQLITE_APPLICATION_ID);
      const tables = db
        .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      expect(tables).toEqual([
        'client_rejections',
        'clients',
        'events',
        'meta',
        'schema_migrations',
        'streams',
      ]);
      const uniques = db
        .prepare<[], string>(
          `SELECT group_concat(ii.name, ',') FROM pragma_index_list('events') AS il, pragma_index_info(il.name) AS ii
           WHERE il."unique" = 1 GROUP BY il.name ORDER BY 1`,
        )
        .pluck()
        .all();
      expect(uniques).toEqual(['id', 'stream,stream_version']);
      const history = db.prepare('SELECT version, name FROM schema_migrations').all();
      expect(history).toEqual(sqliteMigrations.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      db.close();
    }
  });

  it('refuses a database whose schema is newer than it knows, and leaves it alone', async () => {
    const path = newPath();
    await (await createSqliteStore({ path })).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${sqliteMigrations.length + 1}`);
    raw.close();
    const opening = createSqliteStore({ path });
    await expect(opening).rejects.toBeInstanceOf(HubError);
    await expect(opening).rejects.toMatchObject({
      code: 'store',
      message: expect.stringContaining(
        `schema version ${sqliteMigrations.length + 1}, newer than this @eventloom/hub knows (${sqliteMigrations.length})`,
      ),
    });
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(sqliteMigrations.length + 1);
    check.close();
  });

  it('refuses a database of another application', async () => {
    const path = newPath();
    const foreign = new Database(path);
    foreign.exec('CREATE TABLE notes (body TEXT)');
    foreign.close();
    await expect(createSqliteStore({ path })).rejects.toMatchObject({
      code: 'store',
      message: expect.stringContaining('not an Eventloom hub database'),
    });
  });

  it('fails with a store failure when the file cannot be opened', async () => {
    await expect(createSqliteStore({ path: join(dir, 'missing', 'dir', 'x.db') })).rejects.toMatchObject({
      code: 'store',
    });
  });

  it('scans at most scanWindow positions per filtered read, and says how far it got', async () => {
    const store = await createSqliteStore({ path: ':memory:', scanWindow: 4 });
    const streams = ['a', 'b', 'b', 'b', 'b', 'b', 'a', 'b'];
    await store.append(streams.map((stream, i) => ({ event: sampleEnvelope({ stream, clientSeq: i + 1 }) })));
    const first = await store.read({ from: 0, limit: 10, streams: ['a'] });
    expect([first.events.map((e) => e.position), first.until, first.head]).toEqual([[1], 4, 8]);
    const second = await store.read({ from: 4, limit: 10, streams: ['a*'] });
    expect([second.events.map((e) => e.position), second.until]).toEqual([[7], 8]);
    await store.close();
  });

  it('reads a file log on a connection of its own that sees every append resolved before, while appends go on', async () => {
    const store = await createSqliteStore({ path: newPath() });
    const reads: Promise<unknown>[] = [];
    for (let seq = 1; seq <= 200; seq++) {
      const [result] = await store.append([{ event: sampleEnvelope({ stream: 's', clientSeq: seq }) }]);
      expect(result).toMatchObject({ status: 'ok', position: seq });
      // Read back at once (read-after-ack), and keep a whole-log read running beside the next appends.
      const page = await store.read({ from: seq - 1, limit: 10 });
      expect(page.events.map((e) => e.position)).toEqual([seq]);
      reads.push(
        store
          .read({ from: 0, limit: 1_000 })
          .then((p) => expect(p.events.length).toBeGreaterThanOrEqual(seq)),
      );
    }
    await Promise.all(reads);
    await store.close();
  });

  it('reads back what it just committed from memory exactly as another connection reads it from the file', async () => {
    const path = newPath();
    const store = await createSqliteStore({ path });
    const data = { title: 'naïve ☕ "q"', n: 1.25 };
    for (let seq = 1; seq <= 30; seq += 3) {
      await store.append(
        [seq, seq + 1, seq + 2].map((clientSeq) => ({
          event: sampleEnvelope({ stream: `s${clientSeq % 4}`, clientSeq, data }),
        })),
      );
    }
    const fresh = await createSqliteStore({ path });
    for (const [from, limit] of [
      [0, 100],
      [5, 7],
      [29, 10],
    ] as const) {
      const mine = await store.read({ from, limit });
      const theirs = await fresh.read({ from, limit });
      expect(mine).toEqual(theirs);
      expect(mine.events.map((e) => JSON.stringify(e))).toEqual(theirs.events.map((e) => JSON.stringify(e)));
    }
    await Promise.all([store.close(), fresh.close()]);
  });

  it('hands its commits to head watchers as JSON text, byte for byte what another connection reads', async () => {
    const path = newPath();
    const store = await createSqliteStore({ path });
    const texts: CommittedJson[] = [];
    store.watchHead((change) => texts.push(...(change.json?.() ?? [])));
    const data = { title: 'naïve ☕ "q" 😀', n: -1.5e-7 };
    await store.append(
      [1, 2].map((clientSeq) => ({ event: sampleEnvelope({ stream: 's1', clientSeq, data }) })),
    );
    // A refusal in the batch commits nothing and is left out.
    await store.append([
      { event: sampleEnvelope({ stream: 's2', clientSeq: 3, data }) },
      { event: sampleEnvelope({ clientSeq: 4 }), rejection: { code: 'invalid', message: 'no' } },
      { event: sampleEnvelope({ stream: 's1', clientSeq: 5, data }) },
    ]);
    const fresh = await createSqliteStore({ path });
    const { events } = await fresh.read({ from: 0, limit: 10 });
    expect(texts.map((t) => t.json)).toEqual(events.map((e) => JSON.stringify(e)));
    expect(texts.map(({ position, stream }) => ({ position, stream }))).toEqual(
      events.map(({ position, stream }) => ({ position, stream })),
    );
    await Promise.all([store.close(), fresh.close()]);
  });

  it('tells the JSON length of the events it reads, from their stored texts, for one page or from memory', async () => {
    const path = newPath();
    const data = { title: 'naïve café ☕ 😀', quote: 'say "hi"\\n', n: -1.5e-7, list: [null, true, {}] };
    const store = await createSqliteStore({ path });
    await store.append(
      [1, 2, 3].map((clientSeq) => ({
        event: sampleEnvelope({ clientSeq, data, meta: { correlationId: 'é' } }),
      })),
    );
    const fresh = await createSqliteStore({ path });
    for (const page of [await store.read({ from: 0, limit: 3 }), await fresh.read({ from: 0, limit: 3 })]) {
      const texts = page.events.map((e) => JSON.stringify(e));
      expect(page.jsonChars).toBe(texts.reduce((n, t) => n + t.length, 0));
      expect(Buffer.byteLength(texts.join(''))).toBeLessThanOrEqual(3 * page.jsonChars!);
    }
    await Promise.all([store.close(), fresh.close()]);
  });

  it('refuses a scanWindow that would never let a filtered read move on', async () => {
    await expect(createSqliteStore({ path: ':memory:', scanWindow: 0.5 })).rejects.toMatchObject({
      code: 'config',
    });
  });

  it('tells apart stream names that differ only in lone surrogates', async () => {
    const store = await createSqliteStore({ path: ':memory:' });
    const streams = ['s\ud800', 's\ud801', 'p\ud83d', 'p\ud83d\ude00'];
    await store.append(streams.map((stream, i) => ({ event: sampleEnvelope({ stream, clientSeq: i + 1 }) })));
    const read = async (filter: string[]) =>
      (await store.read({ from: 0, limit: 10, streams: filter })).events.map((e) => e.stream);
    expect(await read(['s\ud800'])).toEqual(['s\ud800']);
    expect(await read(['s\ud801*'])).toEqual(['s\ud801']);
    expect(await store.streamVersion('s\ud801')).toBe(1);
    await store.close();
  });

  it('reads filtered pages by a range scan of positions, not by reading whole streams', async () => {
    const path = newPath();
    await (await createSqliteStore({ path })).close();
    const db = new Database(path, { readonly: true });
    const explain = (sql: string) =>
      (
        db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(
          ...sql
            .split('?')
            .slice(1)
            .map(() => null),
        ) as { detail: string }[]
      )
        .map((p) => p.detail)
        .join('\n');
    for (const sql of Object.values(FILTERED_PAGE_SQL)) {
      const plan = explain(sql);
      expect(plan).toMatch(/SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
    db.close();
  });
});

describe('schema version 2', () => {
  it('keeps the refusals of a version 1 log and drops its records of commits, answering re-pushes alike', async () => {
    const path = newPath();
    const committed = sampleEnvelope({ clientSeq: 1 });
    const refused = sampleEnvelope({ clientSeq: 2 });
    const v1 = openSqliteDatabase({ path });
    migrateSqlite(v1, sqliteMigrations.slice(0, 1));
    // What the version 1 store wrote for a commit at seq 1 and a refusal at seq 2.
    const text = JSON.stringify({
      ...committed,
      position: 1,
      streamVersion: 1,
      recordedAt: new Date().toISOString(),
    });
    v1.prepare('INSERT INTO events (position, id, stream, stream_version, event) VALUES (1, ?, ?, 1, ?)').run(
      committed.id,
      committed.stream,
      text,
    );
    v1.prepare('INSERT INTO streams (stream, version) VALUES (?, 1)').run(committed.stream);
    v1.prepare("INSERT INTO clients (client_id, last_seq) VALUES ('client-a', 2)").run();
    const result = v1.prepare(
      `INSERT INTO client_results (client_id, client_seq, event_id, status, position, code, message, current_version)
       VALUES ('client-a', ?, ?, ?, ?, ?, ?, ?)`,
    );
    result.run(1, committed.id, 'ok', 1, null, null, null);
    result.run(2, refused.id, 'rejected', null, 'unauthorized', 'may not push to list:1', null);
    v1.close();

    const store = await createSqliteStore({ path });
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(sqliteMigrations.length);
    expect(db.prepare('SELECT client_seq, event_id, code FROM client_rejections').all()).toEqual([
      { client_seq: 2, event_id: refused.id, code: 'unauthorized' },
    ]);
    db.close();
    expect(await store.append([{ event: committed }, { event: refused }])).toEqual([
      { status: 'duplicate', id: committed.id, position: 1 },
      { status: 'rejected', id: refused.id, code: 'unauthorized', message: 'may not push to list:1' },
    ]);
    const [other] = await store.append([{ event: sampleEnvelope({ clientSeq: 1 }) }]);
    expect(other).toMatchObject({ status: 'rejected', code: 'seq-used' });
    const next = sampleEnvelope({ clientSeq: 3 });
    expect(await store.append([{ event: next }])).toEqual([
      { status: 'ok', id: next.id, position: 2, streamVersion: 2 },
    ]);
    await store.close();
  });
});

describe('schema version 3', () => {
  it('rewrites the `iss|sub` principal keys of a version 2 log as collision-free keys', async () => {
    const path = newPath();
    const v2 = openSqliteDatabase({ path });
    migrateSqlite(v2, sqliteMigrations.slice(0, 2));
    const bind = v2.prepare('INSERT INTO clients (client_id, last_seq, principal) VALUES (?, 0, ?)');
    bind.run('with-issuer', 'https://id.example|auth0|alice');
    bind.run('without-issuer', 'bob');
    bind.run('unbound', null);
    v2.close();

    const store = await createSqliteStore({ path });
    expect(
      await store.bindClient('with-issuer', principalKey({ iss: 'https://id.example', sub: 'auth0|alice' })),
    ).toBe(true);
    expect(await store.bindClient('without-issuer', principalKey({ sub: 'bob' }))).toBe(true);
    expect(await store.bindClient('without-issuer', principalKey({ iss: 'bob', sub: 'bob' }))).toBe(false);
    expect((await store.client('unbound')).principal).toBeUndefined();
    await store.close();
  });
});

describe('migrateSqlite', () => {
  const v1: SqliteMigration = {
    version: 1,
    name: 'notes',
    up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)'),
  };
  const v2: SqliteMigration = {
    version: 2,
    name: 'note titles',
    up: (db) => {
      db.exec("ALTER TABLE notes ADD COLUMN title TEXT NOT NULL DEFAULT ''");
      db.exec('UPDATE notes SET title = upper(body)');
    },
  };

  it('migrates a database of an older version, keeping its data', () => {
    const path = newPath();
    const old = openSqliteDatabase({ path });
    expect(migrateSqlite(old, [v1])).toEqual({ from: 0, to: 1 });
    old.prepare('INSERT INTO notes (body) VALUES (?)').run('hello');
    old.close();

    const db = openSqliteDatabase({ path });
    expect(migrateSqlite(db, [v1, v2])).toEqual({ from: 1, to: 2 });
    expect(db.prepare('SELECT body, title FROM notes').all()).toEqual([{ body: 'hello', title: 'HELLO' }]);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual([
      1, 2,
    ]);
    expect(migrateSqlite(db, [v1, v2])).toEqual({ from: 2, to: 2 });
    db.close();
  });

  it('rolls a failing step back whole and leaves the version where it was', () => {
    const db = openSqliteDatabase({ path: newPath() });
    migrateSqlite(db, [v1]);
    const broken: SqliteMigration = {
      version: 2,
      name: 'broken',
      up: (d) => {
        d.exec('CREATE TABLE half_done (x)');
        d.exec('THIS IS NOT SQL');
      },
    };
    expect(() => migrateSqlite(db, [v1, broken])).toThrow(/syntax error/);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'").pluck().get()).toBe(0);
    expect(migrateSqlite(db, [v1, v2])).toEqual({ from: 1, to: 2 });
    db.close();
  });

  it('refuses a database newer than its migrations', () => {
    const db = openSqliteDatabase({ path: newPath() });
    migrateSqlite(db, [v1, v2]);
    expect(() => migrateSqlite(db, [v1])).toThrow(
      /schema version 2, newer than this @eventloom\/hub knows \(1\)/,
    );
    db.close();
  });

  it('refuses migrations that are not numbered 1, 2, 3…', () => {
    const db = openSqliteDatabase({ path: ':memory:' });
    expect(() => migrateSqlite(db, [v2])).toThrow(HubError);
    db.close();
  });
});

describe('durability', () => {
  const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'append-loop.ts');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

  it('keeps every acknowledged event, once and gapless, when the writer is SIGKILLed mid-stream', async () => {
    const path = newPath();
    const acked = await runAndKill(path, 1_500);
    expect(acked.length).toBeGreaterThan(100);
    expect(acked).toEqual(acked.map((_, i) => i + 1));

    const store = await createSqliteStore({ path });
    const head = await store.head();
    expect(head).toBeGreaterThanOrEqual(acked.length);
    const positions: number[] = [];
    const ids = new Set<string>();
    for (let from = 0; from < head;) {
      const page = await store.read({ from, limit: 1000 });
      for (const e of page.events) {
        positions.push(e.position);
        ids.add(e.id);
        expect(e.clientSeq).toBe(e.position);
      }
      from = page.until;
    }
    expect(positions).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(ids.size).toBe(head);
    expect(await store.client('client-kill')).toMatchObject({ lastClientSeq: head });
    await store.close();
  });

  it('lets the process exit while a store is left open and idle', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(dirname(fixture), 'open-idle.ts'), newPath()],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the process did not exit: ${output}`));
      }, 15_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect([code, output.trim()]).toEqual([0, 'appended']);
  });

  /** Runs the fixture until it has acknowledged `count` positions, SIGKILLs it, and returns them. */
  function runAndKill(path: string, count: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, path], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const acked: number[] = [];
      let pending = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) acked.push(Number(line));
        if (acked.length >= count && child.exitCode === null) child.kill('SIGKILL');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => {
        if (signal === 'SIGKILL') resolve(acked);
        else reject(new Error(`the writer stopped by itself (${signal ?? _code}): ${stderr}`));
      });
    });
  }
});
