/**
 * The attackers of the attack soak (test-only), in a process of their own: given the hub's URL and
 * the seconds to run, they pull large pages with 32 pulls in flight, flood pushes from four
 * sockets of one principal, churn connections with new client ids, and hold gapped pushes; then
 * report over IPC how many of their requests and connections the hub refused.
 */
import { connectClient, hello, makeEvent, request, signToken } from './test-kit.ts';
import type { PushAck } from '@eventloom/protocol';
import type { Socket } from 'socket.io-client';

const [url, seconds] = [process.argv[2]!, Number(process.argv[3])];
const BIG = { text: 'x'.repeat(100_000) };
const sockets: Socket[] = [];
const open = async (sub: string, clientId: string, subscriptions: string[] = []) => {
  const socket = await connectClient(url, { token: await signToken(sub) });
  sockets.push(socket);
  await hello(socket, clientId, subscriptions);
  return socket;
};
const pullers = await Promise.all([1, 2, 3, 4].map((i) => open(`puller-${i}`, `puller-${i}`, ['*'])));
const flooders = await Promise.all([1, 2, 3, 4].map((i) => open('flooder', `flooder-${i}`)));
const holders = await Promise.all([1, 2, 3, 4].map((i) => open(`holder-${i}`, `holder-${i}`)));
let refused = 0;
const deadline = Date.now() + seconds * 1000;
const running = () => Date.now() < deadline;
const count = (answer: unknown) => {
  if (typeof answer === 'object' && answer !== null && 'error' in answer) refused++;
};
const tasks: Promise<unknown>[] = [];
// Pullers: 32 pulls of 5,000 large events in flight, again and again.
for (const socket of pullers) {
  tasks.push(
    (async () => {
      while (running()) {
        const answers = await Promise.all(
          Array.from({ length: 32 }, () =>
            request(socket, 'pull', { from: 0, limit: 5000 }).catch(() => undefined),
          ),
        );
        answers.forEach(count);
      }
    })(),
  );
}
// Flooders: four sockets of one principal pushing batches as fast as acks come.
flooders.forEach((socket, i) => {
  tasks.push(
    (async () => {
      let seq = 1;
      while (running()) {
        const events = Array.from({ length: 200 }, (_, k) =>
          makeEvent(`flooder-${i + 1}`, seq + k, { stream: `flood:${i}` }),
        );
        const ack = await request<PushAck & { error?: unknown }>(socket, 'push', { events }).catch(
          () => undefined,
        );
        count(ack);
        if (ack?.results !== undefined) seq += 200;
      }
    })(),
  );
});
// Churners: connect, hello with a new client id, push one event, disconnect.
tasks.push(
  (async () => {
    let n = 0;
    while (running()) {
      try {
        const socket = await connectClient(url, { token: await signToken('churner') });
        await hello(socket, `churn-${n}`, []);
        count(await request(socket, 'push', { events: [makeEvent(`churn-${n}`, 1)] }));
        socket.disconnect();
      } catch {
        refused++;
      }
      n++;
    }
  })(),
);
// Gap holders: large events far ahead of their next seq, held until the gap times out.
holders.forEach((socket, i) => {
  tasks.push(
    (async () => {
      let seq = 1_000;
      while (running()) {
        const held = Array.from({ length: 16 }, () =>
          request(socket, 'push', {
            events: [makeEvent(`holder-${i + 1}`, seq++, { data: BIG })],
          }).catch(() => undefined),
        );
        (await Promise.all(held)).forEach(count);
      }
    })(),
  );
});

await Promise.all(tasks);
for (const s of sockets) s.disconnect();
process.send!({ refused }, () => process.exit(0));
