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
  // On failure, the whole report: the scores, the failed audits, the elements that shifted.
  const report = JSON.stringify(scores, null, 2);
  expect(scores.cls <= 0.1 ? 'ok' : report).toBe('ok');
  expect(scores.accessibility >= 95 ? 'ok' : report).toBe('ok');
  expect(scores.bestPractices >= 95 ? 'ok' : report).toBe('ok');
}, 180_000);
