/**
 * The soak under attack (test-only; the security soak test and the `hub-memory-under-attack`
 * benchmark run it): a well-behaved client writes throughout while attackers pull large pages
 * with many pulls in flight, flood pushes from several sockets, churn connections with new client
 * ids, and hold gapped pushes, each bounded in count and time. Meanwhile `/healthz` is timed and
 * the hub's RSS sampled. `idle` mode opens the same connections and sends nothing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PullResult, PushAck } from '@eventloom/protocol';
import type { Socket } from 'socket.io-client';
import { connectClient, hello, makeEvent, request, signToken } from './test-kit.ts';

/** What a soak measured. */
export interface SoakReport {
  /** The hub's resident set size before any connection, and at its peak during the run, in bytes. */
  readonly baseRss: number;
  readonly peakRss: number;
  /** The slowest `/healthz` answer, in ms, and how many did not come within 1 s. */
  readonly slowestHealthMs: number;
  readonly lateHealth: number;
  /** Events the good client had acked `ok`, and how many of them the hub's log holds afterwards. */
  readonly acked: number;
  readonly found: number;
  /** Attack requests the hub refused (rate-limited, busy…) and connections it refused. */
  readonly refused: number;
}

const BIG = { text: 'x'.repeat(100_000) };

export async function runAttackSoak(options: {
  readonly mode: 'attack' | 'idle';
  readonly seconds: number;
}): Promise<SoakReport> {
  const script = fileURLToPath(new URL('./attack-soak-server.ts', import.meta.url));
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const sockets: Socket[] = [];
  try {
    const { url } = await reply<{ url: string }>(child);
    const rss = async () => (await reply<{ rss: number }>(child, 'rss')).rss;
    const baseRss = await rss();
    const open = async (sub: string, clientId: string, subscriptions: string[] = []) => {
      const socket = await connectClient(url, { token: await signToken(sub) });
      sockets.push(socket);
      await hello(socket, clientId, subscriptions);
      return socket;
    };
    // Large events for the pullers to ask for, pushed before the clock starts.
    const seeder = await open('seeder', 'seeder');
    for (let seq = 1; seq <= 200; seq += 10) {
      await request(seeder, 'push', {
        events: Array.from({ length: 10 }, (_, i) =>
          makeEvent('seeder', seq + i, { stream: 'big:1', data: BIG }),
        ),
      });
    }
    const good = await open('good', 'good', ['good:*']);
    // In idle mode, the attackers' connections, open and silent: what the hub holds for them idle.
    if (options.mode === 'idle') {
      for (let i = 1; i <= 4; i++) {
        await open(`puller-${i}`, `puller-${i}`, ['*']);
        await open('flooder', `flooder-${i}`);
        await open(`holder-${i}`, `holder-${i}`);
      }
    }

    let peakRss = await rss();
    let slowestHealthMs = 0;
    let lateHealth = 0;
    let refused = 0;
    const ackedIds: string[] = [];
    const deadline = Date.now() + options.seconds * 1000;
    const running = () => Date.now() < deadline;
    const tasks: Promise<unknown>[] = [];
    // The monitor: /healthz within 1 s, and the peak RSS.
    tasks.push(
      (async () => {
        while (running()) {
          const started = performance.now();
          try {
            const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) });
            if (res.status !== 200) lateHealth++;
          } catch {
            lateHealth++;
          }
          slowestHealthMs = Math.max(slowestHealthMs, performance.now() - started);
          peakRss = Math.max(peakRss, await rss());
          await sleep(100);
        }
      })(),
    );
    if (options.mode === 'attack') {
      // The good client: one event every 50 ms, retried when the hub says to.
      tasks.push(
        (async () => {
          let seq = 1;
          while (running()) {
            const event = makeEvent('good', seq, { stream: 'good:1' });
            const ack = await request<PushAck & { error?: { retryable: boolean } }>(good, 'push', {
              events: [event],
            }).catch(() => undefined);
            if (ack?.results?.[0]?.status === 'ok') {
              ackedIds.push(event.id);
              seq++;
            }
            await sleep(50);
          }
        })(),
      );
      // The attackers run in a process of their own: their load is not the monitor's.
      const script = fileURLToPath(new URL('./attack-soak-attackers.ts', import.meta.url));
      const attackers = fork(script, [url, String(options.seconds)], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      tasks.push(reply<{ refused: number }>(attackers).then((r) => (refused += r.refused)));
    }
    await Promise.all(tasks);
    // Every event the good client was told is stored must be in the log.
    let found = 0;
    let from = 0;
    for (;;) {
      const page = await request<PullResult & { error?: unknown }>(good, 'pull', {
        from,
        limit: 1000,
        streams: ['good:1'],
      });
      if (page.error !== undefined) {
        await sleep(100);
        continue;
      }
      const wanted = new Set(ackedIds);
      found += page.events.filter((e) => wanted.has(e.id)).length;
      if (!page.more) break;
      from = page.until;
    }
    return { baseRss, peakRss, slowestHealthMs, lateHealth, acked: ackedIds.length, found, refused };
  } finally {
    for (const s of sockets) s.disconnect();
    child.send('stop');
    await new Promise((resolve) => {
      child.once('exit', resolve);
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
  }
}

function reply<T>(child: ChildProcess, ask?: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T) => {
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`the soak hub exited (${code})`));
    child.once('message', onMessage);
    child.once('exit', onExit);
    if (ask !== undefined) child.send(ask);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
