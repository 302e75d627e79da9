/**
 * Test support for the sync tests: a socket factory whose pushes go through a hook, which may
 * record them, send them as they are, lose their answer, or hold them. Not part of the package.
 */
import { MessageName, type EventEnvelope } from '@eventloom/protocol';
import type { SocketFactory } from '@eventloom/client';

/** A push as the sync engine sends it. */
export interface PushPayload {
  readonly events: readonly EventEnvelope[];
  readonly repair?: boolean;
}

/** The answer callback of a push. */
export type PushAck = (answer: unknown) => void;

/**
 * Wraps `inner`: each push goes to `hook` with its payload and ack, and `send`, which sends a push
 * on the same socket. Every other message goes as it is.
 */
export function hookPushes(
  inner: SocketFactory,
  hook: (payload: PushPayload, ack: PushAck, send: (payload: PushPayload, ack: PushAck) => void) => void,
): SocketFactory {
  return (url, options) => {
    const socket = inner(url, options);
    const emit = socket.emit.bind(socket);
    return Object.assign(socket, {
      emit: (event: string, ...args: unknown[]) => {
        if (event !== MessageName.push) return emit(event, ...args);
        const [payload, ack] = args as [PushPayload, PushAck];
        hook(payload, ack, (p, a) => void emit(event, p, a));
        return socket;
      },
    });
  };
}

/** The events of a push of to-dos, as `id@clientSeq`. */
export function todosAt(payload: PushPayload): string[] {
  return payload.events.map((e) => `${(e.data as { id: string }).id}@${e.clientSeq}`);
}
