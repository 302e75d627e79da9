import type { FaultSettingsInput } from './fault-plan.ts';
import type { FaultProxy } from './fault-proxy.ts';
import { waitUntil } from './wait-until.ts';

/**
 * The random faults of a rig run, which {@link forceEachFault} tops up: short delays, many split
 * chunks, rare resets and rare short blackholes.
 *
 * @example
 * const proxy = await createFaultProxy({ target, seed, faults: RIG_FAULTS });
 */
export const RIG_FAULTS: FaultSettingsInput = {
  delayMs: [0, 3],
  splitProbability: 0.3,
  resetProbability: 0.02,
  blackholeProbability: 0.01,
  blackholeMs: [20, 80],
};

/** Options of {@link forceEachFault}. */
export interface ForceEachFaultOptions {
  /** How many appends the hub has acknowledged so far (the run's progress). */
  readonly acked: () => number;
  /** The acks to wait for before the reset, before the blackhole, and after it: ascending. */
  readonly at: readonly [reset: number, blackhole: number, end: number];
  /** Says how far the run got, in a timeout's error. */
  readonly message: () => string;
}

/**
 * Makes each fault of the proxy happen once on demand, on top of the random ones: once `at[0]`
 * appends are acked (over an open connection) it resets every connection, after `at[1]` it
 * blackholes one for 50 ms, and it resolves once `at[2]` are acked. Each wait gives up after 30 s.
 *
 * @example
 * await forceEachFault(proxy, { acked, at: [15, 30, 45], message: progress });
 * await hub.kill('SIGKILL');
 */
export async function forceEachFault(proxy: FaultProxy, options: ForceEachFaultOptions): Promise<void> {
  const { acked, at, message } = options;
  await waitUntil(() => acked() >= at[0] && proxy.stats.open > 0, { timeoutMs: 30_000, message });
  proxy.resetAll();
  await waitUntil(() => acked() >= at[1] && proxy.stats.open > 0, { timeoutMs: 30_000, message });
  proxy.connections()[0]?.blackhole(50);
  await waitUntil(() => acked() >= at[2], { timeoutMs: 30_000, message });
}
