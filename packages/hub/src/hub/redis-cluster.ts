import type { Logger } from 'pino';
import { HubError, HubErrorCode } from './hub-error.ts';
import type { HubCluster } from './hub-options.ts';

/** The Redis bus of a hub cluster, open: the hub's `cluster` option, and how to close it. */
export interface RedisCluster extends HubCluster {
  close(): Promise<void>;
}

/**
 * Connects the two Redis clients the Socket.IO Redis adapter needs (one publishes, one
 * subscribes) and makes the hub's `cluster` option of them. The pub/sub adapter, not the streams
 * one: notifications are at-most-once and ephemeral by design (the log carries everything that
 * must survive), so nothing is gained by keeping them in a Redis stream, and pub/sub adds no
 * polling delay and keeps no data in Redis. The clients reconnect on their own; while they are
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
  return {
    name: 'redis',
    adapter: createAdapter(pub, sub, { key: options.key ?? 'eventloom' }),
    isUp: () => pub.isReady && sub.isReady,
    async close() {
      await Promise.all([pub.close().catch(() => pub.destroy()), sub.close().catch(() => sub.destroy())]);
    },
  };
}

/** A URL without its password, for messages. */
function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:…@');
}
