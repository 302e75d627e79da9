import { chromium } from 'playwright-core';
const [url, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
const page = await context.newPage();
page.on('console', (m) => console.log(`console ${m.type()}: ${m.text()}`));
page.on('requestfailed', (r) => console.log('FAILED', r.url()));
await page.goto(url);
await page
  .waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30000 })
  .catch((e) => console.log('no controller', e.message));
await page.locator('[data-testid="column"]').first().waitFor();
await page.waitForTimeout(4000);
console.log(
  await page.evaluate(async () => {
    const c = await caches.open('dev-modules');
    return (await c.keys()).map((r) => r.url).join(' ');
  }),
);
await context.setOffline(true);
await page.reload().catch((e) => console.log('reload failed', e.message));
await page.waitForTimeout(5000);
await page.screenshot({ path: out });
console.log('columns', await page.locator('[data-testid="column"]').count());
await browser.close();
