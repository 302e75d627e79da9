import { Gauge, type Registry } from 'prom-client';
import type { JetStreamInbound } from './jetstream-inbound.ts';
import type { JetStreamRelay } from './jetstream-relay.ts';

/** The names of the JetStream metrics on the hub's `/metrics`. */
export const JetStreamMetricNames = {
  /** Gauge `{result}`: events the relay published, `stored` by the stream or dropped as a `duplicate`. */
  published: 'eventloom_hub_jetstream_published_events',
  /** Gauge `{outcome}`: inbound messages `stored`, skipped as a `duplicate`, or `dead-lettered`. */
  inbound: 'eventloom_hub_jetstream_inbound_messages',
} as const;

/**
 * Registers the JetStream gauges (read at each scrape) for what is running; returns the function
 * that removes them. Dead letters of both show in `eventloom_hub_dead_letters` and `/admin/dead-letters`.
 */
export function registerJetStreamMetrics(
  registry: Registry,
  source: { readonly relay?: JetStreamRelay; readonly inbound?: () => JetStreamInbound | undefined },
): () => void {
  const { relay, inbound } = source;
  if (relay !== undefined) {
    new Gauge({
      name: JetStreamMetricNames.published,
      help: 'Integration events the JetStream relay published since start, by PubAck result.',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        this.set({ result: 'stored' }, relay.counts.stored);
        this.set({ result: 'duplicate' }, relay.counts.duplicates);
      },
    });
  }
  if (inbound !== undefined) {
    new Gauge({
      name: JetStreamMetricNames.inbound,
      help: 'JetStream messages the inbound consumer handled since start, by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const counts = inbound()?.counts ?? { stored: 0, duplicates: 0, deadLettered: 0 };
        this.set({ outcome: 'stored' }, counts.stored);
        this.set({ outcome: 'duplicate' }, counts.duplicates);
        this.set({ outcome: 'dead-lettered' }, counts.deadLettered);
      },
    });
  }
  return () => {
    for (const name of Object.values(JetStreamMetricNames)) registry.removeSingleMetric(name);
  };
}
