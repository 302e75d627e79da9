import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleEnvelope, sampleEventId } from '@eventloom/protocol/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToHub, readHubLog } from '@eventloom/sync-lab';
import { HUB_BIN } from '@eventloom/hub-server/testing';
import { startHubProcess, waitForFreePort, type HubProcess } from '@eventloom/sync-lab';
import { SyncLabError } from '@eventloom/sync-lab';

let dir: string;
const hubs: HubProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sync-lab-hub-'));
});
afterAll(async () => {
  await Promise.all(hubs.map((hub) => hub.kill('SIGKILL')));
  await rm(dir, { recursive: true, force: true });
});

async function start(name: string): Promise<HubProcess> {
  const hub = await startHubProcess({ bin: HUB_BIN, dbPath: join(dir, `${name}.db`) });
  hubs.push(hub);
  return hub;
}

describe('startHubProcess', () => {
  it('starts the real hub, which answers the protocol', async () => {
    const hub = await start('answers');
    expect(hub.running).toBe(true);
    expect(hub.url).toBe(`http://127.0.0.1:${hub.port}`);
    expect(hub.port).toBeGreaterThan(0);
    expect(hub.starts).toBe(1);
    expect(hub.output.some((line) => line.includes('eventloom-hub listening'))).toBe(true);
    const client = await connectToHub(hub.url, { clientId: 'probe' });
    try {
      expect(client.welcome).toMatchObject({ head: 0, lastClientSeq: 0 });
    } finally {
      client.close();
    }
  });

  it('keeps acknowledged events across a SIGKILL and a restart on the same port', async () => {
    const hub = await start('restart');
    const { url, port } = hub;
    const events = [1, 2, 3].map((clientSeq) =>
      sampleEnvelope({ id: sampleEventId(), clientId: 'writer', clientSeq, stream: 'list:restart' }),
    );
    const writer = await connectToHub(url, { clientId: 'writer' });
    const ack = await writer.push(events);
    writer.close();
    expect(ack.results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);

    expect(await hub.kill('SIGKILL')).toBe('SIGKILL');
    expect(hub.running).toBe(false);
    await expect(readHubLog(url, { timeoutMs: 2000 })).rejects.toThrow(SyncLabError);

    await hub.restart();
    expect(hub.running).toBe(true);
    expect(hub.starts).toBe(2);
    expect(hub.port).toBe(port);
    expect(hub.url).toBe(url);
    const log = await readHubLog(url);
    expect(log.map((e) => [e.id, e.position, e.clientSeq])).toEqual(
      events.map((e, i) => [e.id, i + 1, i + 1]),
    );
    // The hub remembers the writer's sequence, so a re-push is a duplicate, not a second copy.
    const again = await connectToHub(url, { clientId: 'writer' });
    try {
      expect(again.welcome.lastClientSeq).toBe(3);
      const replay = await again.push([events[1]!]);
      expect(replay.results).toEqual([{ status: 'duplicate', id: events[1]!.id, position: 2 }]);
    } finally {
      again.close();
    }
  });

  it('restart kills a running hub first; SIGTERM shuts it down cleanly', async () => {
    const hub = await start('terminate');
    const firstPid = hub.pid;
    await hub.restart();
    expect(hub.pid).not.toBe(firstPid);
    expect(hub.output.filter((l) => l.startsWith('── eventloom-hub start'))).toHaveLength(2);
    expect(await hub.kill('SIGTERM')).toBe(0);
    expect(hub.output.some((line) => line.includes('eventloom-hub stopped'))).toBe(true);
    // Killing a process that is gone answers how it ended.
    expect(await hub.kill('SIGKILL')).toBe(0);
    expect(hub.describe()).toMatch(/exited \(0\).*started 2 time/);
  });

  it('fails with the hub output when the hub cannot start', async () => {
    const failure = await startHubProcess({
      bin: HUB_BIN,
      dbPath: join(dir, 'bad.db'),
      args: ['--no-such-flag'],
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SyncLabError);
    expect(failure).toMatchObject({ code: 'hub-start' });
    expect((failure as Error).message).toMatch(/no-such-flag/);
  });

  it('waits for a busy port to be free, and gives up at the deadline', async () => {
    const hub = await start('busy');
    await expect(waitForFreePort('127.0.0.1', hub.port, Date.now() + 100)).rejects.toMatchObject({
      code: 'port-busy',
    });
    const free = waitForFreePort('127.0.0.1', hub.port, Date.now() + 20_000);
    await hub.kill('SIGKILL');
    await expect(free).resolves.toBeUndefined();
  });
});
