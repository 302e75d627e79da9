import { HubFailure, HubFailureCode, toHubFailure } from '../hub/hub-failure.ts';

/** A store's error (SQLite's, say) as the hub's `store` failure; the hub's own failures pass through. */
export function toStoreFailure(thrown: unknown): HubFailure {
  if (thrown instanceof HubFailure) return thrown;
  if (thrown instanceof Error) {
    return new HubFailure(HubFailureCode.store, `event store: ${thrown.message}`, { cause: thrown });
  }
  return toHubFailure(thrown);
}
