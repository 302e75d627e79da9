/**
 * Client A of the latency benchmarks, in a process of its own (another device): a Node client
 * synced with the hub, and a socket of the raw relay. On `{ op: 'hub' | 'raw' | 'durable', n }` it
 * notes the time, appends the n-th probe event (or emits it to the relay, plain or to be committed), and answers at once with that time (ms
 * since the epoch, sub-millisecond: `performance.timeOrigin + performance.now()`, comparable
 * across processes of one machine).
 *
 * argv: hubUrl rawUrl stream
 */
import { connectRaw, now, openNodeClient, probeEvent, whenLive, writerOf } from './sync-bench-kit.ts';

const [hubUrl, rawUrl, stream] = process.argv.slice(2) as [string, string, string];

const client = await openNodeClient(hubUrl, { sync: { subscriptions: [stream] } });
await whenLive(client.sync);
const raw = await connectRaw(rawUrl);
const append = writerOf(client, raw);
process.send!({ ready: true });

process.on('message', (message: { op: 'hub' | 'raw' | 'durable'; n: number }) => {
  const { op, n } = message;
  const start = now();
  if (op !== 'hub') {
    // `durable`: the relay commits it (the durable floor) before it relays it.
    raw.emit(op === 'raw' ? 'relay' : 'durable', { events: [probeEvent(stream, n)], prev: n - 1 });
    process.send!({ start });
    return;
  }
  // Answered now, as for the relay and as the browser benchmark's writer does: an answer sent once
  // the append resolves (A's local write done) reached B's process, this one's parent, as the
  // event did, and B read it first. A failed append still ends the process (writerOf).
  append(stream, n, () => {});
  process.send!({ start });
});
