/**
 * hub-memory-under-attack: the hub's peak RSS during the attack soak (a good client writing while
 * attackers pull large pages with 32 pulls in flight, flood pushes from four sockets, churn
 * connections and hold gapped pushes of 100 KB events, 12 s), against the peak RSS of the same
 * hub with the same connections open and idle for as long. Ratio of peaks, target ≤ 2×.
 */
import { expect, it } from 'vitest';
import { reportBench } from '../../../bench/node.ts';
import { runAttackSoak } from '../src/hub/attack-soak.ts';

it('hub-memory-under-attack', async () => {
  const idle = await runAttackSoak({ mode: 'idle', seconds: 12 });
  const attack = await runAttackSoak({ mode: 'attack', seconds: 12 });
  console.log(
    `[bench] hub-memory-under-attack: idle ${JSON.stringify(idle)} attack ${JSON.stringify(attack)}`,
  );
  expect(attack.found).toBe(attack.acked);
  await reportBench({
    name: 'hub-memory-under-attack',
    value: attack.peakRss,
    unit: 'bytes (peak RSS)',
    baseline: idle.peakRss,
    target: 2,
    better: 'lower',
  });
}, 180_000);
