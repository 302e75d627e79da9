export {
  createHlc,
  compareHlc,
  DEFAULT_HLC_MAX_DRIFT_MS,
  type HlcOptions,
  type HybridLogicalClock,
} from './hlc.ts';
export {
  type FoldableEvent,
  type FoldableEventOf,
  type EventMap,
  type EventMapOf,
} from './foldable-event.ts';
export {
  defineProjection,
  projectionId,
  fold,
  foldByKey,
  applyEvent,
  keyOfEvent,
  type Projection,
  type ProjectionDefinition,
  type ProjectionHandlers,
  type ProjectionReducer,
} from './projection.ts';
export {
  defineDecider,
  reject,
  isRejection,
  runDecider,
  type Decider,
  type DeciderDefinition,
  type Decision,
  type DecideResult,
  type EventDraft,
  type EventDraftOf,
  type Rejection,
} from './decider.ts';
export {
  EventKinds,
  isEventKind,
  isStoredKind,
  isEphemeralKind,
  type EphemeralEventKind,
} from './event-kinds.ts';
export { CoreError, CoreErrorCode, toCoreError } from './core-error.ts';
export {
  defineEvent,
  type EventDefinition,
  type EventData,
  type NewEvent,
  type NewEventOf,
  type VersionSchemas,
  type LatestVersion,
  type Upcasters,
  type DefineEventOptions,
  type CreateEventOptions,
} from './define-event.ts';
export {
  EventRegistry,
  createRegistry,
  type VersionedEvent,
  type LatestEventOf,
  type UpcastEvent,
} from './event-registry.ts';
export {
  snapshotDefinitions,
  toJsonSchema,
  parseRegistrySnapshot,
  stringifyRegistrySnapshot,
  registrySnapshotSchema,
  REGISTRY_SNAPSHOT_FORMAT,
  type RegistrySnapshot,
  type EventTypeSnapshot,
  type EventVersionSnapshot,
} from './registry-snapshot.ts';
export {
  checkCompatibility,
  formatBreakingChange,
  parseCompatibilityMode,
  CompatibilityMode,
  COMPATIBILITY_MODES,
  type BreakingChange,
} from './check-compatibility.ts';
export { CompatibilityChange } from './compatibility-change.ts';
export {
  compareJsonSchemas,
  type JsonSchema,
  type SchemaIncompatibility,
  type SchemaSides,
} from './compare-json-schemas.ts';
export { canonicalJson } from './canonical-json.ts';
export { fingerprint, sha256Hex } from './fingerprint.ts';
