import { describe, expect, it } from 'vitest';
import { PeerLimits, type PeerLimitsOptions } from './peer-limits.ts';

const options = (now: () => number): PeerLimitsOptions => ({
  principalRateBurst: 10,
  principalRatePerSecond: 10,
  addressRateBurst: 100,
  addressRatePerSecond: 100,
  maxConnectionsPerPrincipal: 2,
  maxConnectionsPerAddress: 3,
  newClientIdsBurst: 2,
  newClientIdsPerHour: 3600,
  now,
});

describe('PeerLimits', () => {
  it('counts connections per principal and per address, and frees them on disconnect', () => {
    const limits = new PeerLimits(options(() => 0));
    const a1 = limits.connect('alice', '10.0.0.1');
    const a2 = limits.connect('alice', '10.0.0.1');
    expect(a1.ok && a2.ok).toBe(true);
    expect(limits.connect('alice', '10.0.0.2')).toMatchObject({
      ok: false,
      message: expect.stringContaining('principal'),
    });
    expect(limits.connect('bob', '10.0.0.1').ok).toBe(true);
    expect(limits.connect('carol', '10.0.0.1')).toMatchObject({
      ok: false,
      message: expect.stringContaining('address'),
    });
    if (a1.ok) limits.disconnect(a1.peers);
    expect(limits.connect('alice', '10.0.0.3').ok).toBe(true);
  });

  it('shares one rate and one budget of new client ids among the sockets of a principal, across reconnects', () => {
    let now = 0;
    const limits = new PeerLimits(options(() => now));
    const first = limits.connect('alice', '10.0.0.1');
    if (!first.ok) throw new Error('refused');
    expect(first.peers.principal.rate.take(10)).toBe(true);
    expect(first.peers.principal.newClientIds.take(2)).toBe(true);
    limits.disconnect(first.peers);
    limits.sweep();
    const again = limits.connect('alice', '10.0.0.1');
    if (!again.ok) throw new Error('refused');
    // Reconnecting does not refill what was spent.
    expect(again.peers.principal.rate.take(1)).toBe(false);
    expect(again.peers.principal.newClientIds.take(1)).toBe(false);
    now += 1_000;
    expect(again.peers.principal.rate.take(10)).toBe(true);
    expect(again.peers.principal.newClientIds.take(1)).toBe(true);
  });

  it('forgets a peer once it is idle and its buckets are full again', () => {
    let now = 0;
    const limits = new PeerLimits(options(() => now));
    const c = limits.connect('alice', '10.0.0.1');
    if (!c.ok) throw new Error('refused');
    c.peers.principal.rate.take(5);
    limits.disconnect(c.peers);
    limits.sweep();
    expect(limits.size).toBe(1);
    now += 3_600_000;
    limits.sweep();
    expect(limits.size).toBe(0);
  });
});
