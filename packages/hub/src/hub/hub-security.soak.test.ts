import { expect, it } from 'vitest';
import { runAttackSoak } from './attack-soak.ts';

/** The stated bound: the hub's RSS never grows more than this over its RSS at start. */
const MAX_GROWTH_BYTES = 512 * 1024 * 1024;

it('keeps its memory bounded, /healthz answering and the good client’s events under attack', async () => {
  const report = await runAttackSoak({ mode: 'attack', seconds: 12 });
  console.log(`[soak] ${JSON.stringify(report)}`);
  expect(report.peakRss - report.baseRss).toBeLessThan(MAX_GROWTH_BYTES);
  expect(report.lateHealth).toBe(0);
  expect(report.acked).toBeGreaterThan(0);
  expect(report.found).toBe(report.acked);
  // The attacks were met with refusals, not served without bound.
  expect(report.refused).toBeGreaterThan(0);
}, 90_000);
