import { z } from 'zod';

/** Hub → client, the answer to `hello`. */
export const welcomeSchema = z.strictObject({
  /** The protocol version the hub speaks. */
  protocol: z.int().min(1),
  /** The oldest protocol version the hub serves. */
  minProtocol: z.int().min(1),
  /** A stable id of the hub's log, so a client can tell when it meets a different log. */
  hubId: z.string().min(1).max(128),
  /** The highest committed position. */
  head: z.int().min(0),
  /** The highest `clientSeq` the hub has accepted from this client; 0 when none. */
  lastClientSeq: z.int().min(0),
  /**
   * The fingerprint of the registry the hub validates pushes against; null when it has none.
   * Protocol 2 and up (sent only to clients that said protocol 2 or more in `hello`).
   */
  schemaFingerprint: z.string().min(1).max(128).nullable().optional(),
});
/** The `welcome` message. */
export type Welcome = z.infer<typeof welcomeSchema>;
