/**
 * The `eventloom-hub` server under attack, each attack with the refusal expected: files outside
 * `--static` (symlinks, dotfiles, traversal), framing and referrer leaks, cross-origin sockets,
 * streams and kinds without rules, `/metrics` without its token.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PushAck, Welcome } from '@eventloom/protocol';
import { pino } from 'pino';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubServerConfig } from './hub-server-config.ts';
import { SECRET, call, eventOf, tokenFor } from './spawn-hub.ts';
import { startHubServer, type HubServer } from './start-hub-server.ts';

let dir: string;
const servers: HubServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eventloom-hub-security-'));
  const site = join(dir, 'site');
  await mkdir(join(site, '.git'), { recursive: true });
  await mkdir(join(site, '.well-known'), { recursive: true });
  await writeFile(join(site, 'index.html'), '<!doctype html><title>shell</title>');
  await writeFile(join(site, '.env'), 'SECRET=1');
  await writeFile(join(site, '.git', 'config'), '[core]');
  await writeFile(join(site, '.well-known', 'security.txt'), 'Contact: x');
  await writeFile(join(dir, 'outside.txt'), 'outside the folder');
  await symlink(join(dir, 'outside.txt'), join(site, 'link.txt'));
  await symlink(dir, join(site, 'up'));
});

afterAll(async () => {
  for (const s of servers.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(overrides: Partial<HubServerConfig> = {}): Promise<HubServer> {
  const server = await startHubServer(
    {
      port: 0,
      host: '127.0.0.1',
      db: ':memory:',
      jwtSecret: SECRET,
      corsOrigins: [],
      insecureDev: false,
      logLevel: 'silent',
      static: join(dir, 'site'),
      ...overrides,
    },
    { logger: pino({ level: 'silent' }) },
  );
  servers.push(server);
  return server;
}

function open(url: string, token: string | undefined, origin?: string): Promise<Socket | Error> {
  const socket = connect(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
    ...(origin === undefined ? {} : { extraHeaders: { origin } }),
  });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      resolve(error);
    });
  });
}

async function ready(url: string, sub: string, clientId: string): Promise<Socket> {
  const socket = await open(url, await tokenFor(sub));
  if (socket instanceof Error) throw socket;
  await call<Welcome>(socket, 'hello', {
    protocol: 1,
    clientId,
    lastPosition: 0,
    subscriptions: ['*'],
    schemaFingerprint: null,
  });
  return socket;
}

describe('hub server security: static files', () => {
  it('refuses symlinks that lead out of --static, dotfiles and traversal', async () => {
    const { url } = await start();
    for (const path of [
      '/link.txt',
      '/up/outside.txt',
      '/.env',
      '/.git/config',
      '/%2e%2e/outside.txt',
      '/..%2Foutside.txt',
    ]) {
      const res = await fetch(`${url}${path}`);
      expect([path, res.status]).toEqual([path, 404]);
      expect(await res.text()).not.toContain('outside the folder');
    }
    expect((await fetch(`${url}/.well-known/security.txt`)).status).toBe(200);
  });

  it('sends a CSP fit for the PWA, no framing and no referrer', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const part of [
      "default-src 'self'",
      "script-src 'self'",
      "worker-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp).toContain(part);
    }
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('hub server security: origins', () => {
  it('lets in browsers of its own origin only by default, never `null`', async () => {
    const { url } = await start();
    const token = await tokenFor('alice');
    const own = await open(url, token, url);
    expect(own).not.toBeInstanceOf(Error);
    (own as Socket).close();
    expect(await open(url, token, 'https://evil.example')).toBeInstanceOf(Error);
    expect(await open(url, token, 'null')).toBeInstanceOf(Error);
    // Non-browser clients send no Origin.
    const plain = await open(url, token);
    expect(plain).not.toBeInstanceOf(Error);
    (plain as Socket).close();
  });

  it('stays convenient with --insecure-dev: any origin but `null`', async () => {
    const { url } = await start({ insecureDev: true, jwtSecret: undefined as never });
    const other = await open(url, undefined, 'http://localhost:5173');
    expect(other).not.toBeInstanceOf(Error);
    (other as Socket).close();
    expect(await open(url, undefined, 'null')).toBeInstanceOf(Error);
  });
});

describe('hub server security: stream rules', () => {
  it('without rules, refuses command and integration events from clients', async () => {
    const { url } = await start();
    const socket = await ready(url, 'alice', 'client-a');
    const ack = await call<PushAck>(socket, 'push', {
      events: [
        eventOf('client-a', 1),
        { ...eventOf('client-a', 2), kind: 'integration' },
        { ...eventOf('client-a', 3), kind: 'command' },
      ],
    });
    expect(ack.results.map((r) => (r.status === 'rejected' ? r.code : r.status))).toEqual([
      'ok',
      'unauthorized',
      'unauthorized',
    ]);
    socket.close();
  });

  it('applies a --rules file: claims to streams, per action and kind, and an --authorize hook', async () => {
    const rules = join(dir, 'rules.json');
    await writeFile(
      rules,
      JSON.stringify({
        rules: [
          { streams: ['user:{sub}:*'] },
          { when: { sub: 'ops' }, streams: ['orders:*'], actions: ['push'], kinds: ['command'] },
        ],
      }),
    );
    const hook = join(dir, 'authorize.mjs');
    await writeFile(
      hook,
      "export function authorize(p, action, stream) { return action === 'pull' && stream === 'public'; }",
    );
    const { url } = await start({ rules, authorize: hook });
    const alice = await ready(url, 'alice', 'client-a');
    const ack = await call<PushAck>(alice, 'push', {
      events: [
        { ...eventOf('client-a', 1), stream: 'user:alice:notes' },
        { ...eventOf('client-a', 2), stream: 'user:bob:notes' },
        { ...eventOf('client-a', 3), stream: 'orders:1', kind: 'command' },
      ],
    });
    expect(ack.results.map((r) => r.status)).toEqual(['ok', 'rejected', 'rejected']);
    const ops = await ready(url, 'ops', 'client-ops');
    const opsAck = await call<PushAck>(ops, 'push', {
      events: [{ ...eventOf('client-ops', 1), stream: 'orders:1', kind: 'command' }],
    });
    expect(opsAck.results[0]!.status).toBe('ok');
    const denied = await call<{ error?: { code: string } }>(alice, 'pull', {
      from: 0,
      limit: 10,
      streams: ['orders:1'],
    });
    expect(denied.error?.code).toBe('unauthorized');
    const allowed = await call<{ error?: unknown }>(alice, 'pull', {
      from: 0,
      limit: 10,
      streams: ['public'],
    });
    expect(allowed.error).toBeUndefined();
    alice.close();
    ops.close();
  });

  it('refuses a malformed rules file at start', async () => {
    const rules = join(dir, 'bad-rules.json');
    await writeFile(rules, JSON.stringify([{ streams: ['x'], actions: ['delete'] }]));
    await expect(start({ rules })).rejects.toMatchObject({
      code: 'config',
      message: expect.stringContaining('rules[0]'),
    });
  });
});

describe('hub server security: /metrics', () => {
  it('is open by default, and wants its bearer token with --metrics-token', async () => {
    const open_ = await start();
    expect((await fetch(`${open_.url}/metrics`)).status).toBe(200);
    const guarded = await start({ metricsToken: 'a-metrics-token-of-some-length' });
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    const ok = await fetch(`${guarded.url}/metrics`, {
      headers: { authorization: 'Bearer a-metrics-token-of-some-length' },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('eventloom_hub_connected_clients');
  });
});
