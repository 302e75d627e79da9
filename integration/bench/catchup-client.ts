/**
 * The catching-up client of the sync-catchup benchmark's second part, in a process of its own
 * (another device; the benchmark runs it under SCHED_IDLE, so that what it costs the online
 * clients is the hub's serving of its pulls, not this machine's two cores): a Node client that
 * starts offline; on `go` it goes online and answers `{ ms }` once it is live at the hub's head.
 *
 * argv: hubUrl head
 */
import { openNodeClient } from './sync-bench-kit.ts';

const [hubUrl, headArg] = process.argv.slice(2) as [string, string];
const head = Number(headArg);

const client = await openNodeClient(hubUrl, { sync: { startOffline: true } });
process.send!({ ready: true });
process.once('message', () => {
  const start = performance.now();
  const subscription = client.sync.metrics$.subscribe((m) => {
    if (m.state === 'live' && m.position >= head) {
      queueMicrotask(() => subscription.unsubscribe());
      process.send!({ ms: performance.now() - start });
    }
  });
  client.sync.goOnline();
});
process.on('disconnect', () => {
  void client.close().finally(() => process.exit(0));
});
