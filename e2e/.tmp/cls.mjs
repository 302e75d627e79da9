import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const context = await browser.newContext({
  viewport: { width: 412, height: 823 },
  deviceScaleFactor: 1.75,
  isMobile: true,
});
await context.addInitScript(() => {
  window.__shifts = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      window.__shifts.push({
        value: e.value,
        t: Math.round(e.startTime),
        sources: (e.sources || []).map(
          (s) =>
            `${s.node?.nodeName}.${s.node?.className} ${JSON.stringify(s.previousRect)}->${JSON.stringify(s.currentRect)}`,
        ),
      });
  }).observe({ type: 'layout-shift', buffered: true });
});
const page = await context.newPage();
await page.goto(process.argv[2]);
await page.waitForTimeout(6000);
console.log(JSON.stringify(await page.evaluate(() => window.__shifts), null, 1).slice(0, 4000));
await browser.close();
