export {
  createFaultProxy,
  type FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  type DirectionStats,
  type FaultConnection,
  type FaultDirection,
} from './fault-proxy.ts';
export {
  NO_FAULTS,
  MAX_FAULT_MS,
  type FaultSettings,
  type FaultSettingsInput,
  type MsRange,
} from './fault-plan.ts';
export {
  startHubProcess,
  waitForFreePort,
  type HubProcess,
  type HubProcessOptions,
  type HubExit,
} from './hub-process.ts';
export { spawnHubProcess, type SpawnedHub, type SpawnHubOptions } from './spawn-hub-process.ts';
export { connectToHub, readHubLog, type HubClient, type HubClientOptions } from './connect-to-hub.ts';
export {
  checkHistory,
  formatAnomalies,
  AnomalyKind,
  type Anomaly,
  type AppendOutcome,
  type AppendRecord,
  type ClientHistory,
  type History,
} from './check-history.ts';
export { seededRandom, deriveSeed, type SeededRandom, type Seed } from './seeded-random.ts';
export {
  replaySeed,
  propertyRuns,
  withReplaySeed,
  replayLine,
  SEED_VARIABLES,
  RUNS_VARIABLE,
  type ReplayRun,
  type ReplayOptions,
} from './replay-seed.ts';
export { waitUntil, type WaitUntilOptions } from './wait-until.ts';
export { forceEachFault, RIG_FAULTS, type ForceEachFaultOptions } from './force-each-fault.ts';
export { SyncLabError, SyncLabErrorCode } from './sync-lab-error.ts';
