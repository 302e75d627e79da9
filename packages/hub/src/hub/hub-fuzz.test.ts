import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  ERROR_CODES,
  decodeHubError,
  decodePullResult,
  decodePushAck,
  decodeSubscribeAck,
  decodeWelcome,
  type LiveEvents,
  type PushAck,
} from '@eventloom/protocol';
import fc from 'fast-check';
import type { Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  collect,
  connectClient,
  hello,
  makeEvent,
  request,
  signToken,
  startTestHub,
  until,
} from './test-kit.ts';

type Started = Awaited<ReturnType<typeof startTestHub>>;

let started: Started;
let bystander: ClientSocket;
let bystanderSeq = 0;
let bystanderErrors: unknown[];
let bystanderDisconnects = 0;
let bystanderLive: LiveEvents[];
let token: string;
let heapBefore = 0;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/**
 * The fuzz seed: EVENTLOOM_SEED replays one; otherwise a fresh one each run (printed), so that CI
 * explores new inputs every time. The seeds these tests were first written with stay as regressions.
 */
const FUZZ_SEED = (() => {
  const raw = process.env['EVENTLOOM_SEED'];
  const seed = raw === undefined || raw === '' ? Math.floor(Math.random() * 2 ** 31) : Number(raw);
  console.info(`hub fuzz: seed ${seed} (replay: EVENTLOOM_SEED=${seed})`);
  return seed;
})();

/** Half the runs on the regression seed, half on this run's {@link FUZZ_SEED}. */
function seedsOf(regression: number, runs: number): { seed: number; numRuns: number }[] {
  return [
    { seed: regression, numRuns: runs / 2 },
    { seed: FUZZ_SEED, numRuns: runs / 2 },
  ];
}

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

beforeAll(async () => {
  started = await startTestHub({ limits: { gapTimeoutMs: 20, maxOutgoingBytes: 4 * 1024 * 1024 } });
  token = await signToken('bystander');
  bystander = await connectClient(started.url, { token });
  bystanderErrors = collect(bystander, 'hub-error');
  bystanderLive = collect<LiveEvents>(bystander, 'events');
  bystander.on('disconnect', () => bystanderDisconnects++);
  await hello(bystander, 'bystander', ['*']);
  heapBefore = heapAfterGc();
});

afterAll(async () => {
  bystander.disconnect();
  await started.close();
});

/** The bystander still gets its pushes acked, pulls answered and live events delivered. */
async function bystanderIsServed(): Promise<void> {
  const event = makeEvent('bystander', ++bystanderSeq, { stream: 'bystander:1' });
  const ack = await request<PushAck>(bystander, 'push', { events: [event] });
  expect(ack.results[0]?.status).toBe('ok');
  await until(
    () => bystanderLive.some((m) => m.events.some((e) => e.id === event.id)),
    'bystander live event',
  );
  expect(bystanderErrors).toEqual([]);
  expect(bystanderDisconnects).toBe(0);
}

/** True when an ack's answer is a well-formed reply or a `{ error }` with a known code. */
function wellFormedAnswer(name: string, answer: unknown): boolean {
  if (typeof answer === 'object' && answer !== null && 'error' in answer) {
    const code = (answer as { error: { code?: unknown } }).error.code;
    return (ERROR_CODES as readonly unknown[]).includes(code);
  }
  switch (name) {
    case 'hello':
      return decodeWelcome(answer).ok;
    case 'push':
      return decodePushAck(answer).ok;
    case 'pull':
      return decodePullResult(answer).ok;
    case 'subscribe':
      return decodeSubscribeAck(answer).ok;
    default:
      return false;
  }
}

const ATTACKER = 'attacker';
/** Names socket.io-client refuses to emit; raw frames send them instead. */
const CLIENT_RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);
const names = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('hello', 'push', 'pull', 'subscribe', 'notify') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('events', 'hub-error', 'message', '__proto__', 'constructor', 'toString'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).filter((s) => !CLIENT_RESERVED.has(s)) },
);
const validEvent = fc
  .record({
    seq: fc.integer({ min: 1, max: 30 }),
    stream: fc.constantFrom('list:1', 'list:2', 'x'),
    client: fc.constantFrom(ATTACKER, 'bystander', 'other'),
  })
  .map(({ seq, stream, client }) => makeEvent(client, seq, { stream }));
const validFrames = {
  hello: fc.record({
    protocol: fc.integer({ min: 0, max: 3 }),
    clientId: fc.constantFrom(ATTACKER, 'bystander', 'x-1'),
    lastPosition: fc.nat(),
    subscriptions: fc.array(fc.constantFrom('*', 'list:*', 'x'), { maxLength: 3 }),
    schemaFingerprint: fc.constant(null),
  }),
  push: fc.array(validEvent, { minLength: 1, maxLength: 6 }).map((events) => ({ events })),
  pull: fc.record({ from: fc.nat(100), limit: fc.integer({ min: 1, max: 100 }) }),
  subscribe: fc.record({
    subscriptions: fc.array(fc.constantFrom('*', 'list:*', 'x', 'bystander:1'), { maxLength: 3 }),
  }),
  notify: fc.record({
    id: fc.constant(makeEvent('n', 1).id),
    kind: fc.constantFrom('notification', 'query', 'reply'),
    type: fc.constant('presence.here'),
    stream: fc.constantFrom('list:1', 'bystander:1'),
    data: fc.jsonValue({ maxDepth: 2 }),
  }),
};
const validFrame = fc.oneof(...(Object.values(validFrames) as fc.Arbitrary<unknown>[]));

/** Sets or deletes values at random places inside a valid frame. */
function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      valid,
      fc.array(fc.tuple(fc.nat(), fc.oneof(fc.anything(), fc.constant(undefined))), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([frame, mutations]) => {
      const copy = structuredClone(frame);
      for (const [at, value] of mutations) {
        const slots = slotsOf(copy);
        if (slots.length === 0) break;
        const [parent, key] = slots[at % slots.length]!;
        if (value === undefined) delete (parent as Record<string, unknown>)[key];
        else (parent as Record<string, unknown>)[key] = value;
      }
      return copy;
    });
}

function slotsOf(value: unknown, out: [object, string][] = [], depth = 0): [object, string][] {
  if (typeof value !== 'object' || value === null || depth > 6) return out;
  for (const key of Object.keys(value)) {
    out.push([value, key]);
    slotsOf((value as Record<string, unknown>)[key], out, depth + 1);
  }
  return out;
}

/** Mostly a known message with a valid, mutated or random payload; sometimes anything at all. */
const frame = fc.record({
  message: fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constantFrom(...(Object.keys(validFrames) as (keyof typeof validFrames)[]))
        .chain((name) =>
          fc.record({
            name: fc.constant<string>(name),
            payload: fc.oneof(
              { weight: 3, arbitrary: validFrames[name] as fc.Arbitrary<unknown> },
              { weight: 4, arbitrary: mutated(validFrames[name] as fc.Arbitrary<unknown>) },
              { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
            ),
          }),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        name: names,
        payload: fc.oneof(validFrame, fc.anything({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 })),
      }),
    },
  ),
  withAck: fc.boolean(),
  extra: fc.oneof(
    { weight: 5, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 1, maxLength: 2 }) },
  ),
});

async function attacker(ready: boolean): Promise<ClientSocket> {
  const socket = await connectClient(started.url, { token: await signToken('attacker') });
  if (ready) await hello(socket, ATTACKER, ['*']);
  return socket;
}

describe('hub fuzz', () => {
  it('survives 6,000 random and mutated messages from real socket.io clients', async () => {
    let frames = 0;
    let closures = 0;
    const tally = new Map<string, number>();
    const sockets = { ready: await attacker(true), fresh: await attacker(false) };
    for (const seeds of seedsOf(20_261_127, 120))
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(frame, fc.boolean()), { minLength: 50, maxLength: 50 }),
          async (batch) => {
            const answers: Promise<void>[] = [];
            for (const [f, useReady] of batch) {
              const key = useReady ? 'ready' : 'fresh';
              if (!sockets[key].connected) {
                closures++;
                sockets[key].disconnect();
                sockets[key] = await attacker(useReady);
              }
              const socket = sockets[key];
              frames++;
              const { name, payload } = f.message;
              const args = [payload, ...f.extra];
              if (!f.withAck) {
                socket.emit(name, ...args);
                continue;
              }
              answers.push(
                (socket.timeout(20_000).emitWithAck(name, ...args) as Promise<unknown>).then(
                  (answer) => {
                    const code = (answer as { error?: { code: string } } | null)?.error?.code ?? 'answered';
                    tally.set(`${name}:${code}`, (tally.get(`${name}:${code}`) ?? 0) + 1);
                    expect({ name, answer, wellFormed: wellFormedAnswer(name, answer) }).toMatchObject({
                      wellFormed: true,
                    });
                  },
                  (error: unknown) => {
                    // No answer is acceptable only if the hub closed this socket.
                    expect({ error: String(error), connected: socket.connected }).toMatchObject({
                      connected: false,
                    });
                  },
                ),
              );
            }
            await Promise.all(answers);
            await bystanderIsServed();
          },
        ),
        seeds,
      );
    sockets.ready.disconnect();
    sockets.fresh.disconnect();
    // The fuzz reached the paths past decoding, not only the refusals.
    for (const name of ['push', 'pull', 'subscribe'])
      expect(tally.get(`${name}:answered`)).toBeGreaterThan(10);
    expect(frames).toBe(6_000);
    expect(closures).toBeLessThan(frames);
  });

  it('survives 4,000 raw and corrupted Socket.IO / Engine.IO frames', async () => {
    const url = started.url.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket';
    const good = `42${JSON.stringify(['push', { events: [makeEvent(ATTACKER, 1)] }])}`;
    const rawFrame = fc.oneof(
      fc.string({ maxLength: 200 }).map((s) => `4${s}`),
      fc.string({ maxLength: 200 }),
      fc.string({ maxLength: 200 }).map((s) => `42${s}`),
      fc
        .tuple(fc.nat(good.length), fc.nat(good.length), fc.string({ maxLength: 8 }))
        .map(
          ([at, cut, insert]) =>
            good.slice(0, at) + insert + good.slice(Math.min(good.length, at + (cut % 10))),
        ),
      fc.constantFrom(
        '451-["push",{"_placeholder":true,"num":0}]',
        '42["push"]',
        '421["push",{"events":[]}]',
        '4299999999999999999999["pull",{"from":0,"limit":1}]',
        '43["hello"]',
        '41',
        '40{"token":5}',
        '2',
        '6',
        '1',
        '42["__proto__",{}]',
        '42["connect",{}]',
        '42["disconnect"]',
        '42["newListener","push"]',
        `42["hello",${'['.repeat(5000)}]`,
      ),
    );
    let sent = 0;
    for (const seeds of seedsOf(4242, 80))
      await fc.assert(
        fc.asyncProperty(fc.array(rawFrame, { minLength: 50, maxLength: 50 }), async (frames) => {
          let ws = await openRaw(url, token);
          for (const f of frames) {
            // A corrupt frame closes the connection: open another and go on.
            if (ws.readyState !== WebSocket.OPEN) ws = await openRaw(url, token);
            ws.send(f);
            sent++;
            // Let the hub read it before the next one, so that a close is seen in between.
            await new Promise((resolve) => setImmediate(resolve));
          }
          ws.close();
          await bystanderIsServed();
        }),
        seeds,
      );
    expect(sent).toBe(4_000);
  });

  it('closes a connection that sends a frame above maxHttpBufferSize, and nothing else', async () => {
    const url = started.url.replace('http', 'ws') + '/socket.io/?EIO=4&transport=websocket';
    const ws = await openRaw(url, token);
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send(`42["push",{"events":[${'"x",'.repeat(2_000_000)}"x"]}]`);
    expect(await closed).toBe(1009);
    await bystanderIsServed();
  });

  it('keeps its memory bounded', async () => {
    const heapAfter = heapAfterGc();
    expect(heapAfter - heapBefore).toBeLessThan(64 * 1024 * 1024);
    const hubErrors = collect(bystander, 'hub-error');
    await bystanderIsServed();
    expect(hubErrors).toEqual([]);
    expect(decodeHubError({ code: 'invalid', message: 'x', retryable: false }).ok).toBe(true);
  });
});

/** A raw WebSocket that completed the Engine.IO open and the Socket.IO connect with a token. */
async function openRaw(url: string, authToken: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', function onMessage(data) {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : '';
      if (text.startsWith('0')) ws.send(`40${JSON.stringify({ token: authToken })}`);
      if (text.startsWith('40')) {
        ws.off('message', onMessage);
        resolve();
      }
    });
  });
  ws.on('error', () => undefined);
  return ws;
}
