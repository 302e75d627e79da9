/**
 * The other clients of the latency benchmarks, in a process of their own: `count` subscribers of
 * the hub (socket.io-client, `hello` subscribed to the stream, live `events` received and
 * dropped) and `count` sockets of the raw relay. They load the server's fan-out as real clients
 * do; their own storage work would happen on their own devices, not on this machine's two cores.
 * Tells its parent once every socket is ready; exits when the parent goes.
 *
 * argv: hubUrl rawUrl count stream
 */
import { MessageName, PROTOCOL_VERSION } from '@eventloom/protocol';
import { io, type Socket } from 'socket.io-client';

const [hubUrl, rawUrl, countArg, stream] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countArg);

const sockets: Socket[] = [];
let received = 0;
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const hub = await connect(hubUrl);
    await hub.emitWithAck(MessageName.hello, {
      protocol: PROTOCOL_VERSION,
      clientId: `peer-${process.pid}-${i}`,
      lastPosition: 0,
      subscriptions: [stream],
      schemaFingerprint: null,
    });
    hub.on(MessageName.events, () => received++);
    const raw = await connect(rawUrl);
    raw.on('relay', () => received++);
  }),
);
process.send!({ ready: true });
process.on('message', () => process.send!({ received }));
process.on('disconnect', () => {
  for (const socket of sockets) socket.disconnect();
  process.exit(0);
});

function connect(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
