import type { CommittedEvent, EventEnvelope } from '@eventloom/protocol';

/**
 * True when `stored` (committed, or about to be) holds the same client-written envelope as
 * `incoming`: every field but the hub's commit fields compares equal as JSON (key order is
 * irrelevant, and a property set to `undefined` counts as absent, as it does once serialised).
 */
export function sameEnvelope(stored: CommittedEvent | EventEnvelope, incoming: EventEnvelope): boolean {
  const { position: _p, streamVersion: _v, recordedAt: _r, ...envelope } = stored as Partial<CommittedEvent>;
  return jsonEqual(envelope, incoming);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = definedKeys(x);
  if (keys.length !== definedKeys(y).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(y, key) || !jsonEqual(x[key], y[key])) return false;
  }
  return true;
}

function definedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).filter((k) => o[k] !== undefined);
}
