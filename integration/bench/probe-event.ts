/**
 * The probe event of the latency benchmarks, shaped as the hub relays it; no Node or DOM import,
 * so that a Node process and a Chromium page (e2e-latency-browser) send the same thing.
 */
import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';
import { TodoAdded } from '@eventloom/client/testing';

/** A committed event shaped as the hub relays the probe's: same type, data and fields. */
export function probeEvent(stream: string, n: number): CommittedEvent {
  const input = TodoAdded.create({ id: `p${n}`, title: `probe ${n}`, tags: ['bench'] });
  return {
    id: `0190a1b2-c3d4-7e5f-8a9b-${String(n).padStart(12, '0')}`,
    type: input.type,
    version: input.version,
    kind: 'domain',
    stream,
    data: input.data,
    meta: { principal: { sub: 'dev' } },
    clientId: 'probe-a',
    clientSeq: n,
    hlc: `${String(1_800_000_000_000 + n).padStart(15, '0')}-0000000000-probe-a`,
    position: n,
    streamVersion: n,
    recordedAt: new Date().toISOString(),
  };
}

/**
 * The probe event as a bare protocol socket of `clientId` pushes it: the envelope of
 * {@link probeEvent}, without what the hub adds, under that client's id and clock.
 */
export function probePush(stream: string, n: number, clientId: string): EventEnvelope {
  const { position: _p, streamVersion: _v, recordedAt: _r, ...event } = probeEvent(stream, n);
  return { ...event, meta: {}, clientId, hlc: event.hlc.replace('probe-a', clientId) };
}
