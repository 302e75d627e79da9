import type { HubMemory } from './hub-memory.ts';
import type { Peer } from './peer-limits.ts';

/** A principal holds at most this share of the hub's memory cap (pulls and pushes in flight). */
const PRINCIPAL_MEMORY_SHARE = 1 / 4;

/** Reserves hub memory for a socket's work, within its principal's share; false when either is full. */
export function reservePrincipalMemory(memory: HubMemory, principal: Peer, bytes: number): boolean {
  if (principal.memory + bytes > memory.limit * PRINCIPAL_MEMORY_SHARE) return false;
  if (!memory.tryReserve(bytes)) return false;
  principal.memory += bytes;
  return true;
}

/** Gives back what {@link reservePrincipalMemory} took. */
export function releasePrincipalMemory(memory: HubMemory, principal: Peer, bytes: number): void {
  principal.memory -= bytes;
  memory.release(bytes);
}
