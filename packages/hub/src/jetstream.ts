/**
 * `@eventloom/hub/jetstream`: integration events to and from NATS JetStream, apart
 * from the main entry point so that a hub without NATS never loads the NATS client.
 */
export {
  createJetStreamRelay,
  JetStreamDefaults,
  type JetStreamRelay,
  type JetStreamRelayOptions,
} from './integration/jetstream-relay.ts';
export {
  startJetStreamInbound,
  JETSTREAM_INBOUND,
  JETSTREAM_INBOUND_CLIENT_ID,
  type JetStreamInbound,
  type JetStreamInboundOptions,
} from './integration/jetstream-inbound.ts';
export { connectNats, watchConnection, type ConnectionWatch } from './integration/nats-connection.ts';
export { ensureJetStream, type JetStreamStreamOptions } from './integration/jetstream-stream.ts';
export { registerJetStreamMetrics, JetStreamMetricNames } from './integration/jetstream-metrics.ts';
