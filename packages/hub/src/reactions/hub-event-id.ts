import { createHash } from 'node:crypto';

/**
 * The event id the hub gives an emitted outbox message: a valid UUIDv7 whose time is the message's
 * `createdAt` and whose other bits are a SHA-256 of the hub id and the message id. The same message
 * always gets the same id, so a message delivered twice is one event.
 *
 * @example hubEventId(hubId, 'checkout/0190…/0', Date.parse(message.createdAt))
 */
export function hubEventId(hubId: string, messageId: string, createdAtMs: number): string {
  const bytes = createHash('sha256').update(`${hubId}\n${messageId}`).digest().subarray(0, 16);
  const ms = Number.isSafeInteger(createdAtMs) && createdAtMs >= 0 ? createdAtMs : 0;
  // 48 bits of Unix milliseconds, big-endian.
  bytes.writeUIntBE(ms % 2 ** 48, 0, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
