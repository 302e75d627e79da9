/**
 * `@eventloom/hub/testing`: what an `EventStore` implementation needs to prove itself, for
 * use with vitest. Not part of the runtime entry point.
 */
export { describeEventStore, type EventStoreSuiteOptions } from './store/describe-event-store.ts';
