import type { PushAck, Welcome } from '@eventloom/protocol';
import { PROTOCOL_VERSION } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import type { Socket as ClientSocket } from 'socket.io-client';
import { connectClient, makeEvent, request, signToken, testScope } from './test-kit.ts';

const scope = testScope();

async function device(url: string, clientId: string, lastPosition: number) {
  const socket: ClientSocket = await connectClient(url, { token: await signToken(clientId) });
  scope.defer(() => socket.disconnect());
  const welcome = await request<Welcome>(socket, 'hello', {
    protocol: PROTOCOL_VERSION,
    clientId,
    lastPosition,
    subscriptions: ['*'],
    schemaFingerprint: null,
  });
  return { socket, welcome };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

describe('a log restored from an older backup', () => {
  it('notices a device ahead of the log, counts its repairs and reports what is still missing', async () => {
    const hub = await scope.startHub();
    // The restored log holds 2 events; devices come back having seen up to position 7.
    const a = await device(hub.url, 'client-a', 0);
    await request<PushAck>(a.socket, 'push', {
      events: [makeEvent('client-a', 1), makeEvent('client-a', 2)],
    });
    expect(await metric(hub.url, 'eventloom_hub_restore_detections_total')).toBe(0);

    const b = await device(hub.url, 'client-b', 7);
    expect(b.welcome).toMatchObject({ head: 2, lastClientSeq: 0 });
    expect(await metric(hub.url, 'eventloom_hub_restore_detections_total')).toBe(1);
    expect(await metric(hub.url, 'eventloom_hub_restore_missing_events')).toBe(5);

    // b sends back the 3 events of its own the log lost; 2 of another device are still missing.
    const lost = [1, 2, 3].map((seq) => makeEvent('client-b', seq));
    const ack = await request<PushAck>(b.socket, 'push', { events: lost, repair: true });
    expect(ack.results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(await metric(hub.url, 'eventloom_hub_repaired_events_total')).toBe(3);
    expect(await metric(hub.url, 'eventloom_hub_restore_missing_events')).toBe(2);
    // A repair push sent twice commits nothing more, and counts nothing more.
    await request<PushAck>(b.socket, 'push', { events: lost, repair: true });
    expect(await metric(hub.url, 'eventloom_hub_repaired_events_total')).toBe(3);

    // A device behind the head is nothing to report.
    await device(hub.url, 'client-c', 4);
    expect(await metric(hub.url, 'eventloom_hub_restore_detections_total')).toBe(1);
  });

  it('refuses a repair flag that is not true', async () => {
    const hub = await scope.startHub();
    const a = await device(hub.url, 'client-a', 0);
    const answer = await request<{ error?: { code: string } }>(a.socket, 'push', {
      events: [makeEvent('client-a', 1)],
      repair: 'yes',
    });
    expect(answer.error).toMatchObject({ code: 'invalid' });
  });
});
