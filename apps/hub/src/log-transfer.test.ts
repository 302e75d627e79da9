import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createSqliteStore, type EventStore } from '@eventloom/hub';
import { createPostgresStore } from '@eventloom/hub/postgres';
import { createTestDatabase, postgresUnavailable, requirePostgres } from '@eventloom/hub/testing';
import type { CommittedEvent, PushAck, Welcome } from '@eventloom/protocol';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { runLogTransfer } from './log-transfer-command.ts';
import { call, connectTo, eventOf, runHub, SECRET, tokenFor } from './spawn-hub.ts';
import { startHubServer, type HubServer } from './start-hub-server.ts';

const onPostgres = requirePostgres(await postgresUnavailable());
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eventloom-transfer-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A hub in this process over `db`, verifying tokens signed with {@link SECRET}. */
async function start(db: string, adminSubs?: readonly string[]): Promise<HubServer> {
  const hub = await startHubServer(
    {
      port: 0,
      host: '127.0.0.1',
      db,
      jwtSecret: SECRET,
      corsOrigins: [],
      insecureDev: false,
      logLevel: 'silent',
      ...(adminSubs === undefined ? {} : { adminSubs }),
    },
    { logger: pino({ level: 'silent' }) },
  );
  cleanups.push(() => hub.close());
  return hub;
}

/** Runs `eventloom-hub <argv>` in this process; its exit code and what it wrote. */
async function transfer(argv: string[]): Promise<{ code: number; output: string }> {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  let output = '';
  stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const code = await runLogTransfer(argv, {}, { stdin: new PassThrough(), stdout, stderr });
  return { code, output };
}

/** A log of `count` events of client `a`, written straight into a SQLite file. */
async function smallLog(db: string, count: number): Promise<void> {
  const store = await createSqliteStore({ path: db });
  await store.append(Array.from({ length: count }, (_, i) => ({ event: eventOf('a', i + 1, 'list:a') })));
  await store.close();
}

/** Pushes `count` events of each client (as that client's own principal) through a running hub. */
async function fill(hub: HubServer, clients: readonly string[], count: number): Promise<void> {
  for (const clientId of clients) {
    const socket = await connectTo(hub.url, await tokenFor(`user-${clientId}`));
    try {
      await call<Welcome>(socket, 'hello', {
        protocol: 1,
        clientId,
        lastPosition: 0,
        subscriptions: [],
        schemaFingerprint: null,
      });
      const events = Array.from({ length: count }, (_, i) => eventOf(clientId, i + 1, `list:${clientId}`));
      const ack = await call<PushAck>(socket, 'push', { events });
      expect(ack.results.every((r) => r.status === 'ok')).toBe(true);
    } finally {
      socket.close();
    }
  }
}

async function readAll(store: EventStore): Promise<CommittedEvent[]> {
  const all: CommittedEvent[] = [];
  let from = 0;
  for (;;) {
    const page = await store.read({ from, limit: 500 });
    all.push(...page.events);
    if (page.until >= page.head) return all;
    from = page.until;
  }
}

async function open(db: string): Promise<EventStore> {
  const store = await createSqliteStore({ path: db });
  cleanups.push(() => store.close());
  return store;
}

describe('eventloom-hub export and import', () => {
  it('exports a log as NDJSON and imports it into an empty one: the same log, byte for byte', async () => {
    const dir = await tempDir();
    const source = join(dir, 'source.db');
    const hub = await start(source);
    await fill(hub, ['a', 'b', 'c'], 40);
    await hub.close();

    // Through the command itself once; in process below.
    const file = join(dir, 'log.ndjson');
    const exported = await runHub(['export', '--db', source, '--out', file]);
    expect(exported).toMatchObject({ code: 0, output: expect.stringContaining('120 events') });
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(121);
    const header = JSON.parse(lines[0]!) as { format: string; hubId: string; head: number };
    expect(header).toMatchObject({ format: 'eventloom-export/1', from: 0, head: 120 });

    const target = join(dir, 'target.db');
    const imported = await transfer(['import', '--db', target, '--in', file]);
    expect(imported).toMatchObject({ code: 0, output: expect.stringContaining('120 events imported') });
    // Again: nothing new, everything recognised by id.
    expect(await transfer(['import', '--db', target, '--in', file])).toMatchObject({
      code: 0,
      output: expect.stringContaining('0 events imported, 120 there already'),
    });

    const [from, to] = [await open(source), await open(target)];
    const before = await readAll(from);
    expect(before).toHaveLength(120);
    expect(JSON.stringify(await readAll(to))).toBe(JSON.stringify(before));
    expect(lines.slice(1)).toEqual(before.map((e) => JSON.stringify(e)));
    expect(await to.hubId()).toBe(header.hubId);
    expect(await to.hubId()).toBe(await from.hubId());
    for (const clientId of ['a', 'b', 'c']) {
      expect(await to.client(clientId)).toEqual(await from.client(clientId));
    }
    await Promise.all([from.close(), to.close()]);

    // The moved log serves its clients where they left off: the next seq, the next position.
    const moved = await start(target);
    const socket = await connectTo(moved.url, await tokenFor('user-a'));
    cleanups.push(() => void socket.close());
    const welcome = await call<Welcome>(socket, 'hello', {
      protocol: 1,
      clientId: 'a',
      lastPosition: 120,
      subscriptions: [],
      schemaFingerprint: null,
    });
    expect(welcome).toMatchObject({ hubId: header.hubId, head: 120, lastClientSeq: 40 });
    const ack = await call<PushAck>(socket, 'push', { events: [eventOf('a', 41, 'list:a')] });
    expect(ack.results[0]).toMatchObject({ status: 'ok', position: 121, streamVersion: 41 });
  }, 60_000);

  it('exports from a position, and refuses to import that into an empty log', async () => {
    const dir = await tempDir();
    const source = join(dir, 'source.db');
    await smallLog(source, 10);
    const file = join(dir, 'tail.ndjson');
    expect(await transfer(['export', '--db', source, '--from', '7', '--out', file])).toMatchObject({
      code: 0,
    });
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines.slice(1).map((l) => (JSON.parse(l) as CommittedEvent).position)).toEqual([8, 9, 10]);
    expect(await transfer(['import', '--db', join(dir, 'empty.db'), '--in', file])).toMatchObject({
      code: 1,
      output: expect.stringContaining('an empty log takes position 1 first'),
    });
  }, 60_000);

  it('names the line that is not a committed event, and refuses bad flags', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad.ndjson');
    await writeFile(file, '{"format":"eventloom-export/1","hubId":"h","from":0,"head":1}\n{"id":"x"}\n');
    expect(await transfer(['import', '--db', join(dir, 't.db'), '--in', file])).toMatchObject({
      code: 1,
      output: expect.stringMatching(/line 2 is not a committed event/),
    });
    expect(await transfer(['export', '--db', join(dir, 'missing.db')])).toMatchObject({
      code: 1,
      output: expect.stringContaining('no log at'),
    });
    expect(await transfer(['export', '--from', 'ten'])).toMatchObject({ code: 2 });
    expect(await transfer(['import', '--out', 'x'])).toMatchObject({ code: 2 });
    expect(await transfer(['export', '--help'])).toMatchObject({
      code: 0,
      output: expect.stringContaining('eventloom-hub import'),
    });
  }, 60_000);

  it.runIf(onPostgres)(
    'moves a SQLite log to Postgres with --db postgres://, and exports it back the same',
    async () => {
      const dir = await tempDir();
      const source = join(dir, 'source.db');
      await smallLog(source, 25);
      const file = join(dir, 'log.ndjson');
      expect(await transfer(['export', '--db', source, '--out', file])).toMatchObject({ code: 0 });
      const db = await createTestDatabase('eventloom_transfer');
      cleanups.push(() => db.drop());
      expect(await transfer(['import', '--db', db.url, '--in', file])).toMatchObject({
        code: 0,
        output: expect.stringContaining('25 events imported, 0 there already; head 25'),
      });
      expect(await transfer(['import', '--db', db.url, '--in', file])).toMatchObject({
        code: 0,
        output: expect.stringContaining('0 events imported, 25 there already'),
      });
      const back = join(dir, 'back.ndjson');
      expect(await transfer(['export', '--db', db.url, '--out', back])).toMatchObject({ code: 0 });
      const [sent, returned] = [await readFile(file, 'utf8'), await readFile(back, 'utf8')];
      // The same events, byte for byte, and the same hub id; only the header's time differs.
      expect(returned.split('\n').slice(1)).toEqual(sent.split('\n').slice(1));
      const headerOf = (text: string) => JSON.parse(text.split('\n')[0]!) as { hubId: string; head: number };
      expect(headerOf(returned)).toMatchObject({ hubId: headerOf(sent).hubId, head: 25 });
      const store = await createPostgresStore({ url: db.url, pollIntervalMs: 0 });
      cleanups.push(() => store.close());
      const from = await open(source);
      expect(await store.client('a')).toEqual(await from.client('a'));
      expect(await store.append([{ event: eventOf('a', 26, 'list:a') }])).toMatchObject([
        { status: 'ok', position: 26, streamVersion: 26 },
      ]);
    },
    60_000,
  );

  it('serves /admin/events to admins only, a page at a time', async () => {
    const dir = await tempDir();
    const db = join(dir, 'admin.db');
    const hub = await start(db, ['ops']);
    await fill(hub, ['a', 'b'], 3);
    const get = async (query: string, token: string | undefined) => {
      const response = await fetch(`${hub.url}/admin/events${query}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await get('', undefined)).toMatchObject({ status: 401 });
    expect(await get('', await tokenFor('user-a'))).toMatchObject({ status: 403 });
    const ops = await tokenFor('ops');
    const first = await get('?from=0&limit=4', ops);
    expect(first).toMatchObject({ status: 200, body: { until: 4, head: 6 } });
    const events = first.body['events'] as CommittedEvent[];
    expect(events.map((e) => e.position)).toEqual([1, 2, 3, 4]);
    const rest = await get('?from=4', ops);
    expect((rest.body['events'] as CommittedEvent[]).map((e) => e.position)).toEqual([5, 6]);
    const filtered = await get('?streams=list:b', ops);
    expect((filtered.body['events'] as CommittedEvent[]).map((e) => e.stream)).toEqual([
      'list:b',
      'list:b',
      'list:b',
    ]);
    expect(await get('?limit=0', ops)).toMatchObject({ status: 400, body: { error: { code: 'invalid' } } });
    expect(await get('?from=-1', ops)).toMatchObject({ status: 400 });
  }, 30_000);
});
