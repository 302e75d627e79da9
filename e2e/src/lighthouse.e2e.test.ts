import { afterAll, beforeAll, expect, it } from 'vitest';
import { DemoRig } from './demo-rig.ts';
import { runLighthouse } from './lighthouse.ts';

let rig: DemoRig;
beforeAll(async () => {
  rig = await DemoRig.start('lighthouse');
});
afterAll(() => rig?.close());

it('serves the bundle precompressed: brotli to a browser that takes it, with Vary', async () => {
  const html = await (await fetch(`${rig.hub.url}/`)).text();
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(script).toBeDefined();
  const res = await fetch(`${rig.hub.url}${script}`, { headers: { 'accept-encoding': 'br, gzip' } });
  expect(res.headers.get('content-encoding')).toBe('br');
  expect(res.headers.get('vary')).toBe('Accept-Encoding');
});

it('loads the demo (mobile preset): layout shift ≤ 0.1, accessibility and best practices ≥ 95', async () => {
  const scores = await runLighthouse(`${rig.hub.url}/`);
  expect(scores.cls, `layout shifts:\n${scores.shifts.join('\n')}`).toBeLessThanOrEqual(0.1);
  expect(scores.accessibility, scores.failed.join('\n')).toBeGreaterThanOrEqual(95);
  expect(scores.bestPractices, scores.failed.join('\n')).toBeGreaterThanOrEqual(95);
}, 180_000);
