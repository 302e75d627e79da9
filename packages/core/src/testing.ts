export { describeReactionStore } from './reactions/testing/describe-reaction-store.ts';
export {
  createFakeScheduler,
  type FakeScheduler,
  type FakeTimer,
} from './reactions/testing/fake-scheduler.ts';
export {
  createMemoryEventLog,
  type MemoryEventLog,
  type LogDraft,
} from './reactions/testing/memory-event-log.ts';
export { settle } from './reactions/testing/settle.ts';
