/**
 * The clients of the hub-ingest benchmark, in a process of their own so that their encoding does
 * not run on the hub's core: connects `CLIENTS` sockets to the hub given on the command line, and
 * on `start` (IPC) pushes each client's outbox in batches with a credit of `IN_FLIGHT` unacknowledged
 * batches per client (acks are the credit), then reports how many events were acknowledged `ok`.
 */
import type { EventEnvelope, PushAck } from '@eventloom/protocol';
import { connectClient, hello, request, signToken } from '../src/hub/test-kit.ts';
import { ingestOutbox } from './hub-ingest-events.ts';

/** One hub URL, or several comma-separated (the nodes of a cluster): client c connects to the c-th, round robin. */
const [urls, clients, perClient, batch] = [
  process.argv[2]!,
  Number(process.argv[3]),
  Number(process.argv[4]),
  Number(process.argv[5]),
];
/** Batches a client may have sent and not yet seen acknowledged. */
const IN_FLIGHT = 2;
const outboxes: EventEnvelope[][] = Array.from({ length: clients }, (_, c) => ingestOutbox(c, perClient));
const sockets = await Promise.all(
  outboxes.map(async (_, c) => {
    const nodes = urls.split(',');
    const socket = await connectClient(nodes[c % nodes.length]!, { token: await signToken(`user-${c}`) });
    await hello(socket, `client-${c}`, []);
    return socket;
  }),
);
process.send!({ ready: true });
process.once('message', () => {
  let acked = 0;
  void Promise.all(
    sockets.flatMap((socket, c) => {
      const outbox = outboxes[c]!;
      let next = 0;
      const lane = async () => {
        while (next < outbox.length) {
          const events = outbox.slice(next, next + batch);
          next += batch;
          const ack = await request<PushAck>(socket, 'push', { events });
          acked += ack.results.filter((r) => r.status === 'ok').length;
        }
      };
      return Array.from({ length: IN_FLIGHT }, lane);
    }),
  ).then(() => {
    for (const socket of sockets) socket.disconnect();
    process.send!({ acked }, () => process.exit(0));
  });
});
