import { MessageName, type DecodedPushEvent } from '@eventloom/protocol';

/** Whether a message is one of the requests (answered through its ack). */
export function isRequest(name: unknown): name is 'hello' | 'push' | 'pull' | 'subscribe' {
  return (
    name === MessageName.hello ||
    name === MessageName.push ||
    name === MessageName.pull ||
    name === MessageName.subscribe
  );
}

/** A message name fit for a refusal's text (cut; not echoed when it is no string). */
export function describeName(name: unknown): string {
  return typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name;
}

/** The raw `events` array of a push that decoded (so it is a plain array). */
export function rawEvents(payload: unknown): readonly unknown[] {
  const events = readOwn(payload, 'events');
  return Array.isArray(events) ? events : [];
}

/** The JSON bytes of a decoded push's events (those that decoded). */
export function pushBytes(events: readonly DecodedPushEvent[]): number {
  let bytes = 0;
  for (const e of events) if (e.ok) bytes += e.bytes;
  return bytes;
}

/** What a message costs against the rate limits beyond the message itself: one per pushed event. */
export function pushCost(name: unknown, payload: unknown): number {
  if (name !== MessageName.push) return 0;
  const events = readOwn(payload, 'events');
  return Array.isArray(events) ? Math.min(events.length, 1_000_000) : 0;
}

/** An own data property of an untrusted value, or undefined (getters are not run, nothing throws). */
export function readOwn(value: unknown, key: string): unknown {
  try {
    if (typeof value !== 'object' || value === null) return undefined;
    return Object.getOwnPropertyDescriptor(value, key)?.value;
  } catch {
    return undefined;
  }
}
