import { ErrorCode } from '@eventloom/protocol';
import type { Socket } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { HubMemory } from './hub-memory.ts';
import { DEFAULT_HUB_LIMITS, type HubLimits } from './hub-options.ts';
import { Peer, type PeerLimitsOptions } from './peer-limits.ts';
import { PullGate } from './pull-gate.ts';

const peerOptions: PeerLimitsOptions = {
  principalRateBurst: 10,
  principalRatePerSecond: 10,
  addressRateBurst: 10,
  addressRatePerSecond: 10,
  maxConnectionsPerPrincipal: 2,
  maxConnectionsPerAddress: 2,
  newClientIdsBurst: 2,
  newClientIdsPerHour: 2,
};

/** A socket whose WebSocket holds `buffered` bytes not yet sent. */
function socketHolding(buffered: { bytes: number }): Socket {
  const conn = {
    writeBuffer: [],
    transport: {
      socket: {
        get bufferedAmount() {
          return buffered.bytes;
        },
      },
    },
  };
  return { conn } as unknown as Socket;
}

function gate(memoryLimit: number, limits: Partial<HubLimits> = {}) {
  const buffered = { bytes: 0 };
  const memory = new HubMemory(memoryLimit);
  const principal = new Peer(10, 10, peerOptions);
  const ctx = {
    limits: { ...DEFAULT_HUB_LIMITS, maxMessageBytes: 100, maxPullsPerSocket: 2, ...limits },
    memory,
  };
  return { gate: new PullGate(ctx, socketHolding(buffered), principal), buffered, memory, principal };
}

describe('PullGate', () => {
  it('lets a few pulls in at a time per socket, each holding four times a message of memory until done', () => {
    const { gate: pulls, memory, principal } = gate(10_000);
    expect(pulls.admit()).toBeUndefined();
    expect(pulls.admit()).toBeUndefined();
    expect(memory.reserved).toBe(800);
    expect(principal.memory).toBe(800);
    expect(pulls.admit()).toEqual({
      code: ErrorCode.rateLimited,
      message: 'too many pulls in flight: wait for their answers',
    });
    pulls.done();
    expect(memory.reserved).toBe(400);
    expect(pulls.admit()).toBeUndefined();
    pulls.done();
    pulls.done();
    expect(memory.reserved).toBe(0);
    expect(principal.memory).toBe(0);
  });

  it('lets no pull in while the socket holds more than a message it has not read', () => {
    const { gate: pulls, buffered, memory } = gate(10_000);
    buffered.bytes = 101;
    expect(pulls.admit()).toEqual({
      code: ErrorCode.rateLimited,
      message: 'read what you were sent before pulling more',
    });
    expect(memory.reserved).toBe(0);
    buffered.bytes = 100;
    expect(pulls.admit()).toBeUndefined();
  });

  it("is busy, reserving and counting nothing, when the principal's share of the hub's memory is full", () => {
    // A principal holds at most a quarter of the hub's memory: 1600 bytes, room for four pages.
    const { gate: pulls, memory, principal } = gate(6400, { maxPullsPerSocket: 10 });
    for (let i = 0; i < 4; i++) expect(pulls.admit()).toBeUndefined();
    expect(pulls.admit()).toBe('busy');
    expect(memory.reserved).toBe(1600);
    expect(principal.memory).toBe(1600);
    pulls.done();
    expect(pulls.admit()).toBeUndefined();
  });

  it('is busy when the hub as a whole cannot hold another page', () => {
    const { gate: pulls, memory } = gate(100_000);
    expect(memory.tryReserve(99_700)).toBe(true);
    expect(pulls.admit()).toBe('busy');
    memory.release(100);
    expect(pulls.admit()).toBeUndefined();
  });

  it('gives back what its pulls reserved, not what the limits say now', () => {
    const limits = { ...DEFAULT_HUB_LIMITS, maxMessageBytes: 100, maxPullsPerSocket: 2 };
    const memory = new HubMemory(10_000);
    const principal = new Peer(10, 10, peerOptions);
    const pulls = new PullGate({ limits, memory }, socketHolding({ bytes: 0 }), principal);
    expect(pulls.admit()).toBeUndefined();
    limits.maxMessageBytes = 200;
    expect(pulls.admit()).toBeUndefined();
    expect(memory.reserved).toBe(1200);
    // Its reservations go back (the latest first): never more than was taken, all of it in the end.
    for (const left of [400, 0]) {
      pulls.done();
      expect({ hub: memory.reserved, principal: principal.memory }).toEqual({ hub: left, principal: left });
    }
  });

  it('refuses a done without a pull in, counting nothing below zero', () => {
    const { gate: pulls, memory, principal } = gate(10_000);
    expect(() => pulls.done()).toThrow('PullGate.done() without a pull admitted');
    expect(pulls.admit()).toBeUndefined();
    pulls.done();
    expect(() => pulls.done()).toThrow('PullGate.done() without a pull admitted');
    expect(memory.reserved).toBe(0);
    expect(principal.memory).toBe(0);
    // Still two at a time: the stray dones made no room.
    expect(pulls.admit()).toBeUndefined();
    expect(pulls.admit()).toBeUndefined();
    expect(pulls.admit()).toEqual({
      code: ErrorCode.rateLimited,
      message: 'too many pulls in flight: wait for their answers',
    });
  });
});
