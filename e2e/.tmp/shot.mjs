import { chromium } from 'playwright-core';
const [url, out, width = '1366', height = '800'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
const logs = [];
page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
await page.goto(url);
await page.waitForTimeout(4000);
await page.screenshot({ path: out });
console.log(logs.join('\n'));
await browser.close();
