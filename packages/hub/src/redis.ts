/**
 * `@eventloom/hub/redis`: the bus between the nodes of a hub cluster (the Socket.IO Redis
 * adapter), for `createHub({ cluster })`. Kept apart from the main entry so that a single hub
 * never loads a Redis client.
 */
export { connectRedisCluster, type RedisCluster } from './hub/redis-cluster.ts';
