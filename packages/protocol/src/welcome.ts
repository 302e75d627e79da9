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
});
/** The `welcome` message. */
export type Welcome = z.infer<typeof welcomeSchema>;
