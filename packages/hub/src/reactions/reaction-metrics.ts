import type { ReactionRunner, SagaStatus } from '@eventloom/core';
import { Gauge, type Registry } from 'prom-client';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import type { SagaCount } from './sqlite-reaction-store.ts';

/** The names of the reaction metrics on the hub's `/metrics`. */
export const ReactionMetricNames = {
  /** Gauge `{reaction}`: the log head minus the handler's or saga's stored checkpoint. */
  lag: 'eventloom_hub_reaction_lag_events',
  /** Gauge: dead letters waiting. */
  deadLetters: 'eventloom_hub_dead_letters',
  /** Gauge `{saga, status}`: saga instances in the store. */
  sagaInstances: 'eventloom_hub_saga_instances',
} as const;

const STATUSES: readonly SagaStatus[] = ['active', 'done', 'compensated', 'failed'];

/** What the reaction metrics read, each time `/metrics` is scraped. */
export interface ReactionMetricsSource {
  readonly runner: ReactionRunner;
  /** The log head as the hub last announced it. */
  head(): number;
  readonly sagas: readonly string[];
  /** Saga instances by saga and status. */
  sagaCounts(): Promise<readonly SagaCount[]>;
}

/**
 * Registers the reaction gauges in the hub's registry, computed at each scrape; returns the
 * function that removes them. Throws a {@link HubError} `config` when the registry has them
 * already (one reaction runtime per hub).
 */
export function registerReactionMetrics(registry: Registry, source: ReactionMetricsSource): () => void {
  for (const name of Object.values(ReactionMetricNames)) {
    if (registry.getSingleMetric(name) !== undefined) {
      throw new HubError(HubErrorCode.config, `this hub runs reactions already (${name} is registered)`);
    }
  }
  const { runner } = source;
  new Gauge({
    name: ReactionMetricNames.lag,
    help: 'Events committed to the log past the stored checkpoint of each handler and saga.',
    labelNames: ['reaction'],
    registers: [registry],
    collect() {
      const head = source.head();
      for (const [reaction, position] of runner.checkpoints()) {
        this.set({ reaction }, Math.max(0, head - position));
      }
    },
  });
  new Gauge({
    name: ReactionMetricNames.deadLetters,
    help: 'Dead letters waiting in the hub reactions’ dead-letter queue.',
    registers: [registry],
    async collect() {
      this.set(await runner.deadLetters.size());
    },
  });
  new Gauge({
    name: ReactionMetricNames.sagaInstances,
    help: 'Saga instances in the hub’s reaction store, by saga and status.',
    labelNames: ['saga', 'status'],
    registers: [registry],
    async collect() {
      const counts = await source.sagaCounts();
      this.reset();
      for (const saga of source.sagas) for (const status of STATUSES) this.set({ saga, status }, 0);
      for (const { saga, status, count } of counts) this.set({ saga, status }, count);
    },
  });
  return () => {
    for (const name of Object.values(ReactionMetricNames)) registry.removeSingleMetric(name);
  };
}
