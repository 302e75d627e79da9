export {
  EventloomProvider,
  useEventloom,
  type EventloomProviderProps,
  type EventloomContextValue,
} from './eventloom-provider.ts';
export { useProjection, useSyncState, usePending, useDeadLetters, useEvents } from './hooks.ts';
