/**
 * The clients of the hub-fanout benchmark, in a process of their own: `RECEIVERS` raw WebSocket
 * receivers (they speak Engine.IO/Socket.IO by hand and count events without parsing JSON, so
 * that the server, not their decoding, is what is measured) and one socket.io-client pusher. On
 * `start` the pusher sends the events in batches (two batches in flight); `done` is reported once
 * every receiver has counted every event.
 *
 * Mode `hub`: receivers say hello subscribed to `*`, the pusher pushes envelopes. Mode `raw`: the
 * pusher sends the committed events, which the bare server broadcasts as they are.
 */
import type { CommittedEvent, EventEnvelope, EventMeta } from '@eventloom/protocol';
import { sampleEventId } from '@eventloom/protocol/testing';
import { WebSocket } from 'ws';
import { connectClient, hello, request, signToken } from '../src/hub/test-kit.ts';

const [url, mode, receivers, events, batch] = [
  process.argv[2]!,
  process.argv[3] as 'hub' | 'raw',
  Number(process.argv[4]),
  Number(process.argv[5]),
  Number(process.argv[6]),
];

const envelopes: EventEnvelope[] = Array.from({ length: events }, (_, i) => fanoutEvent(i + 1));
const committed: CommittedEvent[] = envelopes.map((e, i) => ({
  ...e,
  meta: { ...e.meta, principal: { sub: 'pusher' } } as EventMeta,
  position: i + 1,
  streamVersion: Math.floor(i / 10) + 1,
  recordedAt: '2026-11-27T10:00:00.000Z',
}));

const counts = Array.from({ length: receivers }, () => 0);
let finished: (() => void) | undefined;
const sockets = await Promise.all(Array.from({ length: receivers }, (_, r) => openReceiver(r)));
const pusher = await connectClient(url, { token: await signToken('pusher') });
if (mode === 'hub') await hello(pusher, 'pusher', []);
process.send!({ ready: true });

process.once('message', () => {
  const all = new Promise<void>((resolve) => (finished = resolve));
  const payloads: unknown[] = [];
  for (let i = 0; i < events; i += batch) {
    payloads.push({ events: (mode === 'hub' ? envelopes : committed).slice(i, i + batch) });
  }
  let next = 0;
  const lane = async () => {
    while (next < payloads.length) await request(pusher, 'push', payloads[next++]);
  };
  void Promise.all([lane(), lane(), all]).then(() => {
    for (const s of sockets) s.terminate();
    pusher.disconnect();
    process.send!({ delivered: counts.reduce((a, b) => a + b, 0) }, () => process.exit(0));
  });
});

/** A receiver on a raw WebSocket: Engine.IO open, Socket.IO connect with a token, hello in hub mode. */
async function openReceiver(r: number): Promise<WebSocket> {
  const token = await signToken(`receiver-${r}`);
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const text = Buffer.isBuffer(data) ? data.toString('latin1') : '';
      if (text === '2') ws.send('3');
      else if (text.startsWith('0')) ws.send(`40${JSON.stringify({ token })}`);
      else if (text.startsWith('40')) {
        if (mode === 'raw') resolve();
        else {
          const helloMessage = {
            protocol: 1,
            clientId: `receiver-${r}`,
            lastPosition: 0,
            subscriptions: ['*'],
            schemaFingerprint: null,
          };
          ws.send(`420${JSON.stringify(['hello', helloMessage])}`);
        }
      } else if (text.startsWith('430')) resolve();
      else if (text.startsWith('42["events"')) {
        counts[r]! += occurrences(text, '"position":');
        if (finished !== undefined && counts.every((c) => c >= events)) finished();
      }
    });
  });
  return ws;
}

function occurrences(text: string, needle: string): number {
  let n = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) n++;
  return n;
}

/** A todo event of a typical size (≈ 450 bytes committed), on one of 10 streams. */
function fanoutEvent(n: number): EventEnvelope {
  return {
    id: sampleEventId(n),
    type: 'todo.added',
    version: 1,
    kind: 'domain',
    stream: `list:${n % 10}`,
    data: { todoId: `todo-${n}`, title: `Buy item number ${n}`, done: n % 3 === 0, tags: ['home', 'errand'] },
    meta: { correlationId: `corr-${n}` },
    clientId: 'pusher',
    clientSeq: n,
    hlc: `${String(1_732_700_000_000 + n).padStart(15, '0')}-0000000000-pusher`,
  };
}
