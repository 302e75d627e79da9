import { connect, type NatsConnection } from '@nats-io/transport-node';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';

/** Whether a NATS connection is up, followed from its status events. */
export interface ConnectionWatch {
  readonly isConnected: boolean;
  /** Counts disconnects: an operation that saw it change was cut by a lost connection. */
  readonly epoch: number;
  /** Resolves while connected, or once reconnected; rejects once the connection (or the watch) is closed. */
  connected(): Promise<void>;
  close(): void;
}

/**
 * Follows a NATS connection's status (disconnect, reconnect, close), so that the relays wait out
 * an outage instead of failing events for it.
 *
 * @example const watch = watchConnection(nc); await watch.connected();
 */
export function watchConnection(connection: NatsConnection): ConnectionWatch {
  let isConnected = !connection.isClosed();
  let epoch = 0;
  let closed = false;
  let waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  const settle = () => {
    const list = waiters;
    waiters = [];
    for (const w of list) {
      if (closed) w.reject(new HubError(HubErrorCode.closed, 'the NATS connection is closed'));
      else w.resolve();
    }
  };
  const end = () => {
    closed = true;
    isConnected = false;
    settle();
  };
  void (async () => {
    for await (const status of connection.status()) {
      if (closed) return;
      if (
        status.type === 'disconnect' ||
        status.type === 'reconnecting' ||
        status.type === 'staleConnection'
      ) {
        if (isConnected) epoch++;
        isConnected = false;
      } else if (status.type === 'reconnect') {
        isConnected = true;
        settle();
      } else if (status.type === 'close') {
        end();
        return;
      }
    }
  })().catch(() => undefined);
  connection.closed().then(end, end);
  return {
    get isConnected() {
      return isConnected && !connection.isClosed();
    },
    get epoch() {
      return epoch;
    },
    connected() {
      if (closed || connection.isClosed()) {
        return Promise.reject(new HubError(HubErrorCode.closed, 'the NATS connection is closed'));
      }
      if (isConnected) return Promise.resolve();
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    close: end,
  };
}

/**
 * Connects to NATS for the relays: reconnects forever (an outage makes events wait, it does not
 * lose them), and fails with a `HubError` `config` when the first connection cannot be made.
 *
 * @example const nc = await connectNats('nats://127.0.0.1:4222');
 */
export async function connectNats(
  servers: string | readonly string[],
  name = 'eventloom-hub',
): Promise<NatsConnection> {
  const list = (typeof servers === 'string' ? servers.split(',') : [...servers])
    .map((s) => s.trim())
    .filter((s) => s !== '');
  try {
    return await connect({
      servers: list,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5_000,
    });
  } catch (cause) {
    throw new HubError(
      HubErrorCode.config,
      `cannot connect to NATS at ${list.join(', ')}: ${String(cause)}`,
      { cause },
    );
  }
}
