import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The hub's Prometheus metrics, in a registry of its own (so two hubs in one process never clash). */
export interface HubMetrics {
  readonly registry: Registry;
  /** Sockets that passed authentication and are connected now. */
  readonly connectedClients: Gauge;
  /** Events committed to the store. */
  readonly eventsAppended: Counter;
  /** Time from a `push` arriving to its ack, in seconds. */
  readonly pushDuration: Histogram;
  /** Time from a `pull` arriving to its answer, in seconds. */
  readonly pullDuration: Histogram;
  /** Rejected events and refused messages or connections, by code. */
  readonly rejections: Counter<'code'>;
  /**
   * An event's path through the hub, per batch: `commit` from a push's receipt to its durable
   * commit, `broadcast` from a commit to its offer to the subscribers (live feed), in seconds.
   */
  readonly eventFlow: Histogram<'stage'>;
  /** Bytes the hub holds for its peers now: pulls and pushes in flight, outgoing buffers (sampled). */
  readonly memoryHeld: Gauge;
  /** Devices that said hello holding positions past the log's head (a log restored from a backup). */
  readonly restoreDetections: Counter;
  /** Events committed again from devices' `repair` pushes (a restored log lost them). */
  readonly repairedEvents: Counter;
  /** At least this many events a restored log lost have not come back from their devices yet. */
  readonly restoreMissingEvents: Gauge;
}

/** Makes a fresh set of hub metrics in a new {@link Registry}. */
export function createHubMetrics(): HubMetrics {
  const registry = new Registry();
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return {
    registry,
    connectedClients: new Gauge({
      name: 'eventloom_hub_connected_clients',
      help: 'Authenticated sockets connected now.',
      registers: [registry],
    }),
    eventsAppended: new Counter({
      name: 'eventloom_hub_events_appended_total',
      help: 'Events committed to the store.',
      registers: [registry],
    }),
    pushDuration: new Histogram({
      name: 'eventloom_hub_push_duration_seconds',
      help: 'Time from a push arriving to its ack (after the durable commit).',
      buckets,
      registers: [registry],
    }),
    pullDuration: new Histogram({
      name: 'eventloom_hub_pull_duration_seconds',
      help: 'Time from a pull arriving to its answer.',
      buckets,
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'eventloom_hub_rejections_total',
      help: 'Rejected events and refused messages or connections, by code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    eventFlow: new Histogram({
      name: 'eventloom_event_flow_seconds',
      help: 'Event path through the hub, per batch: stage="commit" from push receipt to durable commit, stage="broadcast" from commit to the live feed offering it to subscribers.',
      labelNames: ['stage'],
      buckets,
      registers: [registry],
    }),
    memoryHeld: new Gauge({
      name: 'eventloom_hub_memory_held_bytes',
      help: 'Bytes the hub holds for its peers: pulls and pushes in flight, outgoing buffers (sampled).',
      registers: [registry],
    }),
    restoreDetections: new Counter({
      name: 'eventloom_hub_restore_detections_total',
      help: 'Devices that said hello holding positions past the head of the log (restored from an older backup).',
      registers: [registry],
    }),
    repairedEvents: new Counter({
      name: 'eventloom_hub_repaired_events_total',
      help: 'Events a restored log had lost, committed again from their devices.',
      registers: [registry],
    }),
    restoreMissingEvents: new Gauge({
      name: 'eventloom_hub_restore_missing_events',
      help: 'At least this many events a restored log lost are still missing: their devices have not come back.',
      registers: [registry],
    }),
  };
}
