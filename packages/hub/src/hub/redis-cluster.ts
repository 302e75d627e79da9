import type { Logger } from 'pino';
import { HubError, HubErrorCode } from './hub-error.ts';
import type { HubCluster } from './hub-options.ts';

/** The Redis bus of a hub cluster, open: the hub's `cluster` option, and how to close it. */
export interface RedisCluster extends HubCluster {
  close(): Promise<void>;
}

/**
 * Connects two Redis clients (one publishes, one subscribes) and makes the hub's `cluster` option
 * of them: the Socket.IO Redis adapter (for Socket.IO's own cross-node calls), and the hub's
 * notifications, on one channel per stream, prefix (a pattern) and client id that the node's
 * sessions need (see `notifyChannel`), so that only the nodes that may deliver a notification
 * receive it. Pub/sub, not Redis streams: notifications are at-most-once and ephemeral by design
 * (the log carries everything that must survive), so nothing is gained by keeping them in a
 * stream, and pub/sub adds no polling delay and keeps no data in Redis. The clients reconnect on their own; while they are
 * away, `isUp()` is false (notify then answers `unavailable`, and `/readyz` says `redis: down`).
 * Needs `@redis/client` and `@socket.io/redis-adapter` installed beside `@eventloom/hub`.
 *
 * @example
 * const cluster = await connectRedisCluster('redis://127.0.0.1:6379', logger);
 * const hub = await createHub({ store, auth, cluster });
 */
export async function connectRedisCluster(
  url: string,
  logger: Logger,
  options: {
    /**
     * Prefix of the Redis channels (default `eventloom`). Nodes of one log must share it and other
     * logs on the same Redis must not: `eventloom-hub` uses `eventloom#<hubId>`.
     */
    readonly key?: string;
  } = {},
): Promise<RedisCluster> {
  let createClient: typeof import('@redis/client').createClient;
  let createAdapter: typeof import('@socket.io/redis-adapter').createAdapter;
  try {
    [{ createClient }, { createAdapter }] = await Promise.all([
      import('@redis/client'),
      import('@socket.io/redis-adapter'),
    ]);
  } catch (cause) {
    throw new HubError(
      HubErrorCode.config,
      'a Redis cluster bus needs `@redis/client` and `@socket.io/redis-adapter`: npm install them',
      { cause },
    );
  }
  const clientOptions = {
    url,
    socket: {
      connectTimeout: 5_000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000),
    },
  };
  const pub = createClient(clientOptions);
  const sub = pub.duplicate();
  let warned = false;
  for (const client of [pub, sub]) {
    client.on('error', (error: unknown) => {
      if (!warned) logger.warn({ err: error }, 'redis: connection lost; notifications stay on this node');
      warned = true;
    });
    client.on('ready', () => {
      if (warned) logger.info('redis: connected again');
      warned = false;
    });
  }
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (cause) {
    pub.destroy();
    sub.destroy();
    throw new HubError(HubErrorCode.config, `--redis: cannot connect to ${redacted(url)}: ${String(cause)}`, {
      cause,
    });
  }
  const key = options.key ?? 'eventloom';
  /** Runs a Redis command for the notifications; a failure (thrown or rejected) is logged only. */
  const attempt = async (what: string, command: () => Promise<unknown>): Promise<void> => {
    try {
      await command();
    } catch (error) {
      if (pub.isOpen && sub.isOpen) logger.warn({ err: error }, `redis: cannot ${what}`);
    }
  };
  return {
    name: 'redis',
    adapter: createAdapter(pub, sub, { key }),
    isUp: () => pub.isReady && sub.isReady,
    notifications(onMessage) {
      const listener = (message: string) => onMessage(message);
      const pattern = (prefix: string) => `${globEscaped(notifyChannel(key, 'stream', prefix))}*`;
      return {
        open(route) {
          return attempt(`listen on ${route.kind} ${route.name}`, () =>
            route.kind === 'prefix'
              ? sub.pSubscribe(pattern(route.name), listener)
              : sub.subscribe(notifyChannel(key, route.kind, route.name), listener),
          );
        },
        close(route) {
          void attempt(`stop listening on ${route.kind} ${route.name}`, () =>
            route.kind === 'prefix'
              ? sub.pUnsubscribe(pattern(route.name), listener)
              : sub.unsubscribe(notifyChannel(key, route.kind, route.name), listener),
          );
        },
        publish(route, payload) {
          if (route.kind === 'prefix') return;
          void attempt(`publish on ${route.kind} ${route.name}`, () =>
            pub.publish(notifyChannel(key, route.kind, route.name), payload),
          );
        },
      };
    },
    async close() {
      // Gracefully, for CLOSE_WAIT_MS at most: a client still reconnecting (Redis away) would
      // wait for it to come back before it answered its pending commands.
      await Promise.all(
        [pub, sub].map(async (client) => {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const closed = await Promise.race([
            client.close().then(
              () => true,
              () => false,
            ),
            new Promise<boolean>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS, false))),
          ]);
          clearTimeout(timer);
          if (!closed) client.destroy();
        }),
      );
    },
  };
}

/**
 * The Redis channel of a notification route: `<key>#notify#stream#<stream>` or
 * `<key>#notify#client#<clientId>`. A prefix route is the pattern of the stream channels that
 * start with it (`PSUBSCRIBE`, its glob characters escaped), so one `PUBLISH` reaches the nodes
 * listening on the stream and those listening on any prefix of it, and no other node.
 */
export function notifyChannel(key: string, kind: 'stream' | 'client', name: string): string {
  return `${key}#notify#${kind}#${name}`;
}

/** `text` as a Redis glob pattern that matches exactly it (`*`, `?`, `[`, `]`, `\\` escaped). */
export function globEscaped(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** How long `close()` lets the Redis clients finish their pending commands, in ms. */
const CLOSE_WAIT_MS = 2_000;

/** A URL without its password, for messages. */
function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:…@');
}
