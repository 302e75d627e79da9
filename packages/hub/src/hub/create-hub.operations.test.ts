import { createServer } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/memory-store.ts';
import { insecureDevAuthenticator, jwtAuthenticator } from './authenticator.ts';
import { createHubTestKit, push } from './create-hub.test-kit.ts';
import { createHub } from './create-hub.ts';
import { HubError } from './hub-error.ts';
import {
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SECRET,
  connectClient,
  hello,
  makeEvent,
  signToken,
  silentLogger,
  startTestHub,
} from './test-kit.ts';

const { setup } = createHubTestKit();

describe('createHub: operations', () => {
  it('serves /healthz, /readyz and /metrics', async () => {
    const { url, client } = await setup({ limits: { gapTimeoutMs: 10 } });
    const a = await client('alice', 'client-a');
    await push(a.socket, [makeEvent('client-a', 1), makeEvent('client-a', 3)]);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('eventloom_hub_connected_clients 1');
    expect(metrics).toContain('eventloom_hub_events_appended_total 1');
    expect(metrics).toMatch(/eventloom_hub_push_duration_seconds_count \d/);
    expect(metrics).toContain('eventloom_hub_rejections_total{code="sequence-gap"} 1');
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });

  it('acks in-flight pushes before closing, then refuses new work', async () => {
    const store = await createMemoryStore();
    const { hub, url } = await startTestHub({ store });
    const socket = await connectClient(url, { token: await signToken('alice') });
    await hello(socket, 'client-a');
    expect((await push(socket, [makeEvent('client-a', 1)])).results[0]!.status).toBe('ok');
    // Fewer than maxInFlightPerSocket, so that none is refused as rate-limited.
    const acks = Array.from({ length: 25 }, (_, i) => push(socket, [makeEvent('client-a', i + 2)]));
    // Close while the pushes are on their way: each is either committed and acked ok, or refused.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const closing = hub.close();
    const results = await Promise.all(acks.map((p) => p.catch(() => undefined)));
    await closing;
    const statuses = results.map(
      (r) => r?.results?.[0]?.status ?? (r as { error?: { code: string } })?.error?.code,
    );
    const okCount = statuses.filter((s) => s === 'ok').length;
    for (const s of statuses) expect(['ok', 'unavailable', undefined]).toContain(s);
    expect(await store.head()).toBe(1 + okCount);
    socket.disconnect();
    await store.close();
  });

  it('attaches to an HTTP server it does not own, and leaves it open on close', async () => {
    const store = await createMemoryStore();
    let hub: Awaited<ReturnType<typeof createHub>> | undefined;
    const server = createServer((req, res) => {
      if (hub?.handleOpsRequest(req, res) !== true) res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hub = await createHub({
      store,
      server,
      auth: jwtAuthenticator({ secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
      logger: silentLogger,
    });
    const socket = await connectClient(hub.url, { token: await signToken('alice') });
    expect((await hello(socket, 'client-a')).head).toBe(0);
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${hub.url}/teapot`)).status).toBe(418);
    socket.disconnect();
    await hub.close();
    expect(server.listening).toBe(true);
    expect((await fetch(`${hub.url}/teapot`)).status).toBe(418);
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  it('refuses to start without an authenticator, and announces insecure dev mode', async () => {
    const store = await createMemoryStore();
    await expect(createHub({ store } as never)).rejects.toBeInstanceOf(HubError);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const hub = await createHub({ store, auth: insecureDevAuthenticator(), logger });
    await hub.close();
    const warning = lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.level === 40);
    expect(warning?.msg).toMatch(/INSECURE/);
  });
});
