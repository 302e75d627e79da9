/**
 * Test support for a client crash inside one process: what dies with a killed process besides its
 * storage (see `PowerCut` for that): its sockets and its BroadcastChannels. Each instance of a
 * device gets one {@link ProcessDeath}, wraps its socket factory and BroadcastChannel constructor
 * with it, and {@link ProcessDeath.kill} is the instant the process dies. Not part of the package.
 */
import type { SocketFactory, SyncSocket } from '@eventloom/client';

/** The sockets and channels of one instance, and the switch that kills them. */
export class ProcessDeath {
  #dead = false;
  readonly #sockets = new Set<SyncSocket>();
  readonly #channels = new Set<BroadcastChannel>();
  /** A BroadcastChannel constructor whose channels close, silently, at the kill. */
  readonly BroadcastChannel: typeof BroadcastChannel;

  constructor() {
    const channels = this.#channels;
    const dead = () => this.#dead;
    this.BroadcastChannel = class MortalChannel extends BroadcastChannel {
      constructor(name: string) {
        super(name);
        channels.add(this);
        if (dead()) this.close();
      }

      override postMessage(message: unknown): void {
        if (!dead()) super.postMessage(message);
      }
    };
  }

  get dead(): boolean {
    return this.#dead;
  }

  /**
   * Wraps `inner`: each socket works as it does until the kill; then its connection is cut without
   * a word (the WebSocket terminated: no close frame, no Socket.IO disconnect packet, as when the
   * kernel closes a dead process's TCP connections), nothing more leaves it, nothing that arrives is
   * delivered, and it never connects again.
   */
  socketFactory(inner: SocketFactory): SocketFactory {
    return (url, options) => {
      const socket = inner(url, options);
      const emit = socket.emit.bind(socket);
      const on = socket.on.bind(socket);
      const connect = socket.connect.bind(socket);
      const disconnect = socket.disconnect.bind(socket);
      const alive = <A extends unknown[]>(fn: (...args: A) => unknown) => {
        return (...args: A) => {
          if (!this.#dead) fn(...args);
        };
      };
      this.#sockets.add(socket);
      return Object.assign(socket, {
        connect: () => (this.#dead ? socket : connect()),
        disconnect: () => (this.#dead ? socket : disconnect()),
        emit: (event: string, ...args: unknown[]) => {
          if (this.#dead) return socket;
          // An ack that comes after the kill finds nobody.
          const wrapped = args.map((arg) =>
            typeof arg === 'function' ? alive(arg as (...a: unknown[]) => unknown) : arg,
          );
          return emit(event, ...wrapped);
        },
        // oxlint-disable-next-line no-explicit-any -- Socket.IO listeners take whatever the peer sent
        on: (event: string, listener: (...args: any[]) => void) => on(event, alive(listener)),
      });
    };
  }

  /** The process dies: its sockets are cut, its channels closed. */
  kill(): void {
    if (this.#dead) return;
    this.#dead = true;
    for (const channel of this.#channels) channel.close();
    for (const socket of this.#sockets) cut(socket);
  }
}

/** Cuts a socket.io-client socket's connection at once: the WebSocket terminated, else the engine closed. */
function cut(socket: SyncSocket): void {
  const engine = (socket as { io?: { engine?: EngineLike } }).io?.engine;
  if (engine === undefined) return;
  const ws = engine.transport?.ws;
  if (ws?.terminate) ws.terminate();
  else engine.close?.();
}

interface EngineLike {
  readonly transport?: { readonly ws?: { terminate?(): void } };
  close?(): void;
}
