/**
 * What the tests of a device's older instance share (sync-stale-welcome, sync-seq-used-order): a
 * bare protocol connection of its client id, as a killed instance held it, and the device's own
 * events as the hub stored them.
 */
import { MessageName, PROTOCOL_VERSION, type EventEnvelope } from '@eventloom/protocol';
import { io, type Socket } from 'socket.io-client';

/** An older instance's connection of `clientId`, welcomed (no subscriptions). */
export interface OldInstance {
  readonly socket: Socket;
  /** The hub's answer to its `hello`. */
  readonly welcome: unknown;
  /** The codes of the `hub-error` messages it received. */
  readonly hubErrors: readonly string[];
  /** Pushes `events`: the hub's answer, or `'disconnected'` once the hub closed the connection. */
  push(events: readonly EventEnvelope[]): Promise<unknown>;
}

/** Connects as an older instance of `clientId` and says `hello`; the caller disconnects `socket`. */
export async function oldInstance(url: string, clientId: string): Promise<OldInstance> {
  const socket = io(url, { transports: ['websocket'], forceNew: true });
  const hubErrors: string[] = [];
  socket.on(MessageName.hubError, (error: { code: string }) => hubErrors.push(error.code));
  // Answered, or the connection closed by the hub (an old session it fenced off may be dropped).
  const request = (name: string, payload: unknown) =>
    Promise.race([
      new Promise<unknown>((resolve) => socket.emit(name, payload, resolve)),
      new Promise<unknown>((resolve) => socket.once('disconnect', () => resolve('disconnected'))),
    ]);
  const welcome = await request(MessageName.hello, {
    protocol: PROTOCOL_VERSION,
    clientId,
    lastPosition: 0,
    subscriptions: [],
    schemaFingerprint: null,
  });
  return { socket, welcome, hubErrors, push: (events) => request(MessageName.push, { events }) };
}

/** The device's own events at the hub, by todo id, in position order. */
export async function ownAtHub(
  hub: { events(): Promise<readonly { clientId: string; data: unknown }[]> },
  clientId: string,
): Promise<string[]> {
  return (await hub.events())
    .filter((x) => x.clientId === clientId)
    .map((x) => (x.data as { id: string }).id);
}
