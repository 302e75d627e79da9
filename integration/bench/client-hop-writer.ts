/**
 * Client A of client-hop.ts, in a process of its own: a full Node client synced with the hub
 * (subscribed to both streams, as the benchmark's A is to its own), and a bare protocol socket of
 * the same hub (`hello`, then pushes of the probe event as a client pushes it; no store). On
 * `{ op: 'client' | 'bare', n, stream }` it notes the time, appends (or pushes) the n-th probe
 * event to `stream`, and answers with that time (`performance.timeOrigin + performance.now()`)
 * and, for the client, when its push frame left. On `{ op: 'cpu' }` it answers with its
 * `process.cpuUsage()`.
 *
 * argv: hubUrl clientStream bareStream
 */
import { MessageName } from '@eventloom/protocol';
import { connectToHub } from '@eventloom/sync-lab';
import { defaultSocketFactory, type SocketFactory } from '@eventloom/client';
import { now, openNodeClient, probePush, whenLive, writerOf } from './sync-bench-kit.ts';

const [hubUrl, ...streams] = process.argv.slice(2) as [string, string, string];

/** When the client's push of each probe (by its data.id) left. */
const pushedAt = new Map<string, number>();
const tapped: SocketFactory = (url, options) => {
  const socket = defaultSocketFactory(url, options);
  const emit = socket.emit.bind(socket);
  return Object.assign(socket, {
    emit: (event: string, ...args: unknown[]) => {
      if (event === MessageName.push) {
        const at = now();
        for (const e of (args[0] as { events: { data: { id: string } }[] }).events)
          pushedAt.set(e.data.id, at);
      }
      return emit(event, ...args);
    },
  });
};
const client = await openNodeClient(hubUrl, { sync: { subscriptions: streams, socket: tapped } });
await whenLive(client.sync);
const bareId = `hop-bare-${process.pid}`;
const { socket: bare } = await connectToHub(hubUrl, { clientId: bareId, subscriptions: [] });
let bareSeq = 0;
const append = writerOf(client, bare);
process.send!({ ready: true });

process.on('message', (message: { op: 'client' | 'bare' | 'cpu'; n: number; stream: string }) => {
  const { op, n, stream } = message;
  if (op === 'cpu') {
    process.send!({ cpu: process.cpuUsage() });
    return;
  }
  const start = now();
  if (op === 'bare') {
    const pushed = probePush(stream, ++bareSeq, bareId);
    bare.emit(
      MessageName.push,
      { events: [{ ...pushed, id: pushed.id.replace('0190a1b2', '0190a1b3') }] },
      () => {},
    );
    process.send!({ start });
    return;
  }
  append(stream, n, () => {
    const pushed = pushedAt.get(`p${n}`);
    pushedAt.delete(`p${n}`);
    process.send!({ start, pushed });
  });
});
