/**
 * The stations of an event's path, in order: appended to the client's outbox, committed by the
 * hub, broadcast to subscribers, applied to a replica's projections.
 */
export const FlowSteps = {
  appended: 'appended',
  committed: 'committed',
  broadcast: 'broadcast',
  applied: 'applied',
} as const;

/** One of the values of {@link FlowSteps}. */
export type FlowStepName = (typeof FlowSteps)[keyof typeof FlowSteps];

/**
 * One observation of an event on its path, for the client's `flowOf(sync)` and the hub's flow log and
 * metric: which event, which station, where and when. Timings are differences of `at` between the
 * steps of one `eventId` (clocks of different machines differ: compare steps seen by one machine,
 * or treat cross-machine differences as estimates).
 *
 * @example
 * flow$.subscribe((s) => s.step === 'applied' && histogram.observe(s.at - appendedAt.get(s.eventId)));
 */
export interface FlowStep {
  readonly eventId: string;
  readonly step: FlowStepName;
  /** Milliseconds since the Unix epoch, by the observer's clock. */
  readonly at: number;
  /** Who saw it: `client:<clientId>` or `hub:<hubId>`. */
  readonly where: string;
  /** Known from `committed` on. */
  readonly position?: number;
  readonly traceparent?: string;
}
