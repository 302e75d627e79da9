/**
 * The sync engine through a TCP fault proxy (issue 5, DESIGN.md §11): devices ↔ `createFaultProxy`
 * ↔ the hub as a child process, with delays, split chunks, resets and blackholes (a lost frame: the
 * connection goes silent, then is reset), a SIGKILL of the hub mid-run, and devices going offline
 * and online. Pass: `checkHistory` finds no lost event, no duplicate, no reordering, no failed
 * write that later appears, no divergence. The fault decisions come from a seed that a failure
 * prints (`EVENTLOOM_SEED=…` replays them).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkHistory,
  createFaultProxy,
  forceEachFault,
  formatAnomalies,
  readHubLog,
  RIG_FAULTS,
  seededRandom,
  startHubProcess,
  withReplaySeed,
  type AppendRecord,
  type SeededRandom,
} from '@eventloom/sync-lab';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import type { CommittedEvent } from '@eventloom/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { TodoAdded } from '@eventloom/client/testing';
import type { SyncMetrics } from '@eventloom/client';
import { SocketTap } from './socket-tap.node.ts';
import { live, openDevice, startTestHub, waitFor, type TestDevice } from './sync-harness.node.ts';

const DEVICES = 3;
const EVENTS_PER_DEVICE = 40;

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('the sync engine through a TCP fault proxy', () => {
  it('loses, duplicates and reorders nothing through delays, splits, resets, blackholes, offline spells and a hub SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eventloom-sync-faults-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const hub = await startHubProcess({ bin: HUB_BIN, dbPath: join(dir, 'events.db') });
    cleanup.push(() => hub.kill('SIGKILL'));

    await withReplaySeed(
      async ({ seed }) => {
        const random = seededRandom(seed);
        const proxy = await createFaultProxy({
          target: { host: '127.0.0.1', port: hub.port },
          seed,
          faults: RIG_FAULTS,
        });
        cleanup.push(() => proxy.close());

        const devices: {
          device: TestDevice;
          tap: SocketTap;
          errors: string[];
          random: SeededRandom;
          appended: number;
        }[] = [];
        for (let i = 0; i < DEVICES; i++) {
          const tap = new SocketTap();
          const device = await openDevice(
            { url: proxy.url },
            {
              sync: {
                socket: tap.factory,
                backoff: { initialMs: 10, maxMs: 200, seed: seed + i },
                push: { maxEvents: random.int(1, 8), inFlight: random.int(1, 4) },
              },
            },
          );
          cleanup.push(() => device.close());
          const errors = collectErrors(device);
          devices.push({ device, tap, errors, random: random.fork('device', i), appended: 0 });
        }
        const appends = new Map<string, Omit<AppendRecord, 'outcome'>>();
        const total = () => devices.reduce((n, d) => n + d.appended, 0);
        const acked = () => devices.reduce((n, d) => n + d.tap.acks.size, 0);
        const progress = () =>
          `${total()} appended, ${acked()} acked; proxy ${JSON.stringify(proxy.stats)}\n` +
          devices.map((d, i) => `device ${i}: ${describeMetrics(d.device)}`).join('\n') +
          `\n${hub.describe(10)}`;

        // Each device appends its events with short pauses, and now and then goes offline for a while.
        const writers = devices.map(async (d) => {
          const { device } = d;
          for (let n = 0; n < EVENTS_PER_DEVICE; n++) {
            const stream = d.random.pick(['list:shared', `list:${device.loom.clientId}`]);
            const event = await device.loom.append(
              stream,
              TodoAdded.create({ id: `${device.loom.clientId}-${n}`, title: `${n}`, tags: [] }),
            );
            appends.set(event.id, {
              id: event.id,
              clientId: event.clientId,
              clientSeq: event.clientSeq,
              stream,
            });
            d.appended++;
            if (d.random.chance(0.05)) device.sync.goOffline();
            else if (d.random.chance(0.2)) device.sync.goOnline();
            await new Promise((resolve) => setTimeout(resolve, d.random.int(0, 8)));
          }
          device.sync.goOnline();
        });

        // Faults on demand, on top of the random ones, so that each surely happens once.
        await forceEachFault(proxy, { acked, at: [15, 30, 45], message: progress });
        expect(await hub.kill('SIGKILL')).toBe('SIGKILL');
        await hub.restart();
        await Promise.all(writers);

        // A clean pipe again: every device drains its outbox and catches up with the hub.
        proxy.clearFaults();
        await Promise.all(devices.map((d) => d.device.sync.flushed()));
        const head = (await readHubLog(hub.url)).length;
        await Promise.all(
          devices.map((d) =>
            waitFor(
              d.device.sync.metrics$,
              (m) => m.position >= head && m.outbox === 0 && m.state === 'live',
              60_000,
            ),
          ),
        );

        const hubLog = await readHubLog(hub.url);
        const acks = new Map(devices.flatMap((d) => [...d.tap.acks]));
        const history = {
          appends: [...appends.values()].map((a): AppendRecord => {
            const position = acks.get(a.id);
            return position === undefined
              ? { ...a, outcome: 'pending' }
              : { ...a, outcome: 'acked', position };
          }),
          clients: await Promise.all(
            devices.map(async (d) => ({
              clientId: d.device.loom.clientId,
              confirmed: (await d.device.loom.readEvents()) as CommittedEvent[],
              flushed: true,
              caughtUp: true,
            })),
          ),
          hub: hubLog,
        };
        expect(formatAnomalies(checkHistory(history))).toBe('no anomalies');
        expect(hubLog).toHaveLength(DEVICES * EVENTS_PER_DEVICE);
        expect(devices.flatMap((d) => d.tap.violations)).toEqual([]);
        // The faults happened: resets, a blackhole, split chunks, the hub killed once.
        const { stats } = proxy;
        expect(stats.resets).toBeGreaterThanOrEqual(1);
        expect(stats.blackholes).toBeGreaterThanOrEqual(1);
        expect(stats.up.splitChunks + stats.down.splitChunks).toBeGreaterThan(0);
        expect(hub.starts).toBe(2);
        // No attempt hung until its timeout: a cut connection fails at once and is made again.
        expect(devices.flatMap((d) => d.errors).filter((e) => e.startsWith('no connection within'))).toEqual(
          [],
        );
      },
      { label: 'sync through the fault proxy' },
    );
  }, 180_000);

  it('fails an attempt at once when the connection dies after the WebSocket upgrade, before engine.io opens, and connects on the next', async () => {
    // socket.io-client waits for its `timeout` in that case (its Manager does not listen for the
    // transport's close while opening): the engine watches engine.io itself.
    const hub = await startTestHub();
    cleanup.push(() => hub.close());
    const front = await upgradeThenClose(hub.port, 2);
    cleanup.push(() => front.close());
    const device = await openDevice(
      { url: front.url },
      { sync: { requestTimeoutMs: 120_000, backoff: { initialMs: 10, maxMs: 20, seed: 1 } } },
    );
    cleanup.push(() => device.close());
    const errors = collectErrors(device);
    await device.loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
    // Far less than the 120 s an attempt would otherwise wait for.
    await live(device.sync, 60_000);
    await device.sync.flushed();
    expect(front.broken).toBe(2);
    expect(errors.filter((e) => e.startsWith('closed while opening'))).toHaveLength(2);
    expect((await hub.events()).map((e) => e.clientId)).toEqual([device.loom.clientId]);
  }, 90_000);
});

/** The message of each error the device reports, in order. */
function collectErrors(device: TestDevice): string[] {
  const errors: string[] = [];
  let last: unknown;
  device.sync.metrics$.subscribe((m) => {
    if (m.lastError !== undefined && m.lastError !== last) errors.push(m.lastError.message);
    last = m.lastError;
  });
  return errors;
}

function describeMetrics(device: TestDevice): string {
  let metrics: SyncMetrics | undefined;
  device.sync.metrics$.subscribe((m) => (metrics = m)).unsubscribe();
  const { lastError, ...rest } = metrics!;
  return `${JSON.stringify(rest)} ${lastError?.code ?? ''} ${lastError?.message ?? ''}`;
}

/**
 * A TCP front for a hub on `port`: its first `breaks` WebSocket connections are answered with a
 * valid `101 Switching Protocols` and then closed, before engine.io's open packet; the others are
 * piped to the hub.
 */
async function upgradeThenClose(
  port: number,
  breaks: number,
): Promise<{ url: string; readonly broken: number; close(): Promise<void> }> {
  let broken = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    client.once('data', (head) => {
      const request = head.toString('latin1');
      const key = /sec-websocket-key: *(\S+)/i.exec(request)?.[1];
      if (key !== undefined && broken < breaks) {
        broken++;
        const accept = createHash('sha1')
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest('base64');
        client.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        setTimeout(() => client.end(), 50);
        return;
      }
      const upstream = connect(port, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const listening = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${listening}`,
    get broken() {
      return broken;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
