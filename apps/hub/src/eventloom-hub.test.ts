import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LiveEvents, PullResult, PushAck, Welcome } from '@eventloom/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  call,
  connectTo,
  eventOf,
  hubArgs,
  killHub,
  runHub,
  spawnHub,
  tokenFor,
  type HubProcess,
} from './spawn-hub.ts';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eventloom-hub-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(db: string, extra: string[] = []): Promise<HubProcess> {
  const hub = await spawnHub(hubArgs(db, extra));
  cleanups.push(() => killHub(hub));
  return hub;
}

describe('eventloom-hub (child process)', () => {
  it('prints its options with --help', async () => {
    const { code, output } = await runHub(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--port',
      '--db',
      '--jwt-secret',
      '--schemas',
      '--cors-origin',
      '--insecure-dev',
      'EVENTLOOM_PORT',
    ]) {
      expect(output).toContain(flag);
    }
  });

  it('refuses bad configuration with a clear message and exit code 2', async () => {
    expect(await runHub([])).toMatchObject({
      code: 2,
      output: expect.stringContaining('no authentication configured'),
    });
    expect(await runHub(['--jwt-secret', 'short'])).toMatchObject({
      code: 2,
      output: expect.stringContaining('at least 32 bytes'),
    });
    expect(await runHub(['--insecure-dev', '--port', 'eighty'])).toMatchObject({
      code: 2,
      output: expect.stringContaining('--port'),
    });
    expect(await runHub(['--bogus'])).toMatchObject({ code: 2, output: expect.stringContaining('bogus') });
    const dir = await tempDir();
    const missing = await runHub(['--jwks', join(dir, 'nope.json'), '--db', join(dir, 'e.db')]);
    expect(missing).toMatchObject({ code: 1, output: expect.stringContaining('cannot read') });
  });

  it('pushes, acks, pulls and broadcasts, and keeps the log across a graceful restart', async () => {
    const dir = await tempDir();
    const db = join(dir, 'data', 'events.db');
    const hub = await start(db);
    const a = await connectTo(hub.url, await tokenFor('alice'));
    const b = await connectTo(hub.url, await tokenFor('bob'));
    cleanups.push(
      () => void a.close(),
      () => void b.close(),
    );
    await call<Welcome>(a, 'hello', {
      protocol: 1,
      clientId: 'client-a',
      lastPosition: 0,
      subscriptions: ['*'],
      schemaFingerprint: null,
    });
    await call<Welcome>(b, 'hello', {
      protocol: 1,
      clientId: 'client-b',
      lastPosition: 0,
      subscriptions: ['*'],
      schemaFingerprint: null,
    });
    const live: LiveEvents[] = [];
    b.on('events', (m: LiveEvents) => live.push(m));
    const events = [1, 2, 3].map((seq) => eventOf('client-a', seq));
    const ack = await call<PushAck>(a, 'push', { events });
    expect(ack.results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    const page = await call<PullResult>(b, 'pull', { from: 0, limit: 10 });
    expect(page.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    while (live.flatMap((m) => m.events).length < 3) await new Promise((r) => setTimeout(r, 5));

    const health = await fetch(`${hub.url}/readyz`);
    expect(health.status).toBe(200);
    expect(await (await fetch(`${hub.url}/metrics`)).text()).toContain(
      'eventloom_hub_events_appended_total 3',
    );

    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    const again = await start(db);
    const c = await connectTo(again.url, await tokenFor('alice'));
    cleanups.push(() => void c.close());
    const welcome = await call<Welcome>(c, 'hello', {
      protocol: 1,
      clientId: 'client-a',
      lastPosition: 0,
      subscriptions: ['*'],
      schemaFingerprint: null,
    });
    expect(welcome).toMatchObject({ head: 3, lastClientSeq: 3 });
    const replay = await call<PushAck>(c, 'push', { events });
    expect(replay.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
  });

  it('validates event data with a --schemas module', async () => {
    const dir = await tempDir();
    const schemas = join(dir, 'schemas.mjs');
    await writeFile(
      schemas,
      `export const registry = {
        validate(e) {
          if (e.type !== 'todo.added') return { ok: false, error: { code: 'unknown-event-version', message: 'unknown', path: 'type' } };
          return typeof e.data?.title === 'string' ? { ok: true, value: e } : { ok: false, error: { code: 'invalid', message: 'title', path: 'data.title' } };
        },
      };`,
    );
    const hub = await start(join(dir, 'e.db'), ['--schemas', schemas]);
    const a = await connectTo(hub.url, await tokenFor('alice'));
    cleanups.push(() => void a.close());
    await call<Welcome>(a, 'hello', {
      protocol: 1,
      clientId: 'client-a',
      lastPosition: 0,
      subscriptions: [],
      schemaFingerprint: null,
    });
    const ack = await call<PushAck>(a, 'push', {
      events: [
        { ...eventOf('client-a', 1), data: { title: 1 } },
        { ...eventOf('client-a', 2), type: 'todo.nope' },
      ],
    });
    expect(ack.results).toMatchObject([
      { status: 'rejected', code: 'invalid' },
      { status: 'rejected', code: 'unknown-event-version' },
    ]);
  });

  it('runs without authentication only in --insecure-dev mode, and says so loudly', async () => {
    const dir = await tempDir();
    const hub = await spawnHub(['--insecure-dev', '--port', '0', '--db', join(dir, 'e.db')]);
    cleanups.push(async () => {
      hub.child.kill('SIGKILL');
      await hub.exited;
    });
    expect(hub.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(hub.output.some((l) => l.includes('"level":40') && l.includes('INSECURE'))).toBe(true);
    const socket = await connectTo(hub.url, '');
    cleanups.push(() => void socket.close());
    expect(
      (
        await call<Welcome>(socket, 'hello', {
          protocol: 1,
          clientId: 'demo',
          lastPosition: 0,
          subscriptions: [],
          schemaFingerprint: null,
        })
      ).head,
    ).toBe(0);
  });
});
