/**
 * Page A of e2e-latency-browser, a Chromium page of its own (opened by the benchmark's page B with
 * `noopener`): an Eventloom on real IndexedDB synced with the real hub, a bare socket of the raw
 * relay and a raw IndexedDB table. Query: `hub`, `relay`, `stream`, `channel`. On the
 * BroadcastChannel `channel`, `{ op: 'hub' | 'floor', n }`: notes the time, then
 * - `hub`: appends the n-th probe event (B's projection will show it);
 * - `floor`: puts the probe row in the raw table, then emits it to the relay as `durable` (the relay
 *   commits it to SQLite, then relays it to B);
 * and answers `{ n, start }` (ms: `performance.timeOrigin + performance.now()`).
 */
import { Dexie } from 'dexie';
import { io } from 'socket.io-client';
import { createEventloom, createSync } from '@eventloom/client';
import { TodoAdded, dbName, todoRegistry } from '@eventloom/client/testing';
import { probeEvent } from './probe-event.ts';

const query = new URLSearchParams(location.search);
const [hubUrl, relayUrl, stream, name] = ['hub', 'relay', 'stream', 'channel'].map((k) => query.get(k)!);
const channel = new BroadcastChannel(name!);

const loom = await createEventloom({ name: dbName('latency-a'), registry: todoRegistry });
const sync = createSync(loom, { url: hubUrl!, subscriptions: [stream!] });
await new Promise<void>((resolve) => {
  const subscription = sync.metrics$.subscribe((m) => {
    if (m.state === 'live' && m.outbox === 0) {
      queueMicrotask(() => subscription.unsubscribe());
      resolve();
    }
  });
});
const raw = new Dexie(dbName('latency-a-raw'));
raw.version(1).stores({ outbox: 'clientSeq' });
await raw.open();
const outbox = raw.table('outbox');
const relay = io(relayUrl!, { transports: ['websocket'], reconnection: false, forceNew: true });
await new Promise<void>((resolve, reject) => {
  relay.once('connect', () => resolve());
  relay.once('connect_error', reject);
});

channel.onmessage = ({ data }: MessageEvent<{ op: 'hub' | 'floor'; n: number } | { close: true }>) => {
  if ('close' in data) {
    relay.disconnect();
    void sync
      .close()
      .then(() => loom.close())
      .finally(() => window.close());
    return;
  }
  const { op, n } = data;
  const start = performance.timeOrigin + performance.now();
  if (op === 'hub') {
    loom.append(stream!, TodoAdded.create({ id: `p${n}`, title: `probe ${n}`, tags: ['bench'] })).catch(fail);
  } else {
    const event = probeEvent(stream!, n);
    void outbox
      .put({ clientSeq: n, event })
      .then(() => relay.emit('durable', { events: [event], prev: n - 1 }))
      .catch(fail);
  }
  channel.postMessage({ n, start });
};
channel.postMessage({ ready: true });

function fail(error: unknown): void {
  channel.postMessage({ error: String(error) });
}
