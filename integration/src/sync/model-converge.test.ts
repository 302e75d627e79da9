/**
 * The sync model test's convergence step (model-converge.node.ts) waits for what a killed instance
 * still had in the network. Found by sync-model.test.ts in CI (EVENTLOOM_SEED=1505414101, not
 * replayable: timing): `crashClient(c1, 1 adds in flight, kill at the next push)` on a device that
 * had never pushed, with c1's proxy delaying chunks. The killed instance's push of X left right
 * before the kill; the proxy delivered it ~10 ms later, after the new instance's hello (a client
 * id never seen is claimed at its first push, and the new instance had nothing to push, so nothing
 * fenced X: the hub stored it, as issue #15 wants of a push the hub received). The final check's
 * convergence had read the hub's head just before, and c0 (blackholed by a `dropFrame` still
 * running) was compared without X: "2 events where 3 were expected". The product did nothing
 * wrong; the model took the hub's log for final while a dead process's last bytes were on their way.
 */
import { sampleEnvelope } from '@eventloom/protocol/testing';
import { createFaultProxy, readHubLog, waitUntil } from '@eventloom/sync-lab';
import { TodoAdded } from '@eventloom/client/testing';
import { expect, it } from 'vitest';
import { converge } from './model-converge.node.ts';
import { oldInstance } from './old-instance.node.ts';
import { syncFixtures } from './sync-harness.node.ts';

const { hub: startHub, device, defer } = syncFixtures();

const ids = (events: readonly { readonly data: unknown }[]) =>
  events.map((e) => (e.data as { id: string }).id);

it("converges only once a killed instance's last push, still in the network, reached the hub: the log it resolves with is final", async () => {
  const hub = await startHub();
  const other = await device(hub);
  // The device whose older instance was killed, as it is now (live, nothing to push): it has
  // never pushed, so the hub holds no record of its client id.
  const renewed = await device(hub);
  const clientId = renewed.loom.clientId;
  await other.loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
  await other.loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));

  // Its killed instance's connection, through a proxy that holds what it sends from here on (as
  // the network holds a dead process's last bytes): its push of X, then its end.
  const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: hub.port } });
  defer(() => proxy.close());
  const old = await oldInstance(proxy.url, clientId);
  defer(() => old.socket.disconnect());
  expect(old.welcome).toMatchObject({ lastClientSeq: 0 });
  const connections = proxy.connections();
  proxy.pause();
  const before = proxy.stats.up.bytesIn;
  const x = sampleEnvelope({
    clientId,
    clientSeq: 1,
    data: { id: 'X', title: 'X', tags: [] },
    version: 2,
    hlc: `${String(Date.now()).padStart(15, '0')}-0000000000-${clientId}`,
  });
  void old.push([x]);
  await waitUntil(() => proxy.stats.up.bytesIn > before, { message: 'the push to reach the proxy' });
  old.socket.disconnect();

  const atHub = async () => (await hub.events()).some((e) => e.id === x.id);
  // Delivered, then judged: stored (nobody claimed the client id since its hello).
  const delivered = async () => {
    proxy.resume();
    await Promise.all(connections.map((c) => c.flushed()));
    await waitUntil(atHub, { message: 'X at the hub' });
  };
  const log = await converge({
    syncs: [other.sync, renewed.sync],
    readLog: () => readHubLog(hub.url),
    lastBytes: delivered,
    waitMs: 20_000,
    describe: () => `the held proxy: ${JSON.stringify(proxy.stats)}`,
  });
  // Before: converge resolved with [a, b] while X was held; it landed right after.
  await delivered();
  expect(ids(log)).toEqual(['a', 'b', 'X']);
  expect(ids(await hub.events())).toEqual(ids(log));
  for (const d of [other, renewed]) expect(ids(await d.loom.readEvents())).toEqual(ids(log));
});
