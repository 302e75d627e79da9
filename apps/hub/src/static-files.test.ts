import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEnvelope, PushAck, Welcome } from '@eventloom/protocol';
import { pino } from 'pino';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHubServerConfig } from './hub-server-config.ts';
import { call, eventOf } from './spawn-hub.ts';
import { startHubServer, type HubServer } from './start-hub-server.ts';

let dir: string;
let server: HubServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eventloom-static-'));
  const site = join(dir, 'site');
  await mkdir(join(site, 'assets'), { recursive: true });
  await writeFile(join(site, 'index.html'), '<!doctype html><title>app shell</title>');
  await writeFile(join(site, 'sw.js'), 'self.addEventListener("fetch", () => {});');
  await writeFile(join(site, 'assets', 'app-1a2b3c.js'), 'console.log("app")');
  await writeFile(join(site, 'manifest.webmanifest'), '{"name":"app"}');
  await writeFile(join(dir, 'secret.txt'), 'outside the folder');
  server = await startHubServer(
    {
      port: 0,
      host: '127.0.0.1',
      db: join(dir, 'events.db'),
      corsOrigins: [],
      insecureDev: true,
      logLevel: 'silent',
      static: site,
    },
    { logger: pino({ level: 'silent' }) },
  );
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { headers });

describe('eventloom-hub --static', () => {
  it('is read from the flag and the environment', () => {
    const flag = parseHubServerConfig(['--insecure-dev', '--static', 'apps/demo/dist'], {});
    expect(flag.ok && !flag.help && flag.config.static).toBe('apps/demo/dist');
    const env = parseHubServerConfig(['--insecure-dev'], { EVENTLOOM_STATIC: 'web' });
    expect(env.ok && !env.help && env.config.static).toBe('web');
  });

  it('serves the app shell, its files with their types, and revalidates all but hashed assets', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('app shell');

    const sw = await get('/sw.js');
    expect(sw.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    const asset = await get('/assets/app-1a2b3c.js');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await get('/manifest.webmanifest')).headers.get('content-type')).toContain(
      'application/manifest+json',
    );
  });

  it('answers 304 to a matching ETag, and HEAD without a body', async () => {
    const first = await get('/sw.js');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    expect((await get('/sw.js', { 'if-none-match': etag })).status).toBe(304);
    const head = await fetch(`${server.url}/sw.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers a navigation to an app route with the shell, and a missing file with 404', async () => {
    const route = await get('/boards/42', { accept: 'text/html' });
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('app shell');
    expect((await get('/assets/missing.js')).status).toBe(404);
    expect((await get('/boards/42')).status).toBe(404);
  });

  it('never serves a file outside the folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%00']) {
      const res = await get(path, { accept: 'text/html' });
      expect(await res.text()).not.toContain('outside the folder');
    }
  });

  it('keeps the ops endpoints and the sync protocol on the same port', async () => {
    expect(await (await get('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await get('/readyz')).status).toBe(200);
    expect(await (await get('/metrics')).text()).toContain('eventloom');

    const socket = connect(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const welcome = await call<Welcome>(socket, 'hello', {
        protocol: 1,
        clientId: 'static-test',
        lastPosition: 0,
        subscriptions: ['*'],
        schemaFingerprint: null,
      });
      expect(welcome).toMatchObject({ head: 0 });
      const event: EventEnvelope = eventOf('static-test', 1);
      const ack = await call<PushAck>(socket, 'push', { events: [event] });
      expect(ack.results).toEqual([{ status: 'ok', id: event.id, position: 1, streamVersion: 1 }]);
    } finally {
      socket.close();
    }
  });

  it('refuses a folder without index.html, saying what to do', async () => {
    await expect(
      startHubServer(
        {
          port: 0,
          host: '127.0.0.1',
          db: ':memory:',
          corsOrigins: [],
          insecureDev: true,
          logLevel: 'silent',
          static: dir,
        },
        { logger: pino({ level: 'silent' }) },
      ),
    ).rejects.toThrow(/has no index.html/);
  });
});
