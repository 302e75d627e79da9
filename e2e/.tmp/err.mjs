import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
page.on('console', (m) => m.type() !== 'debug' && console.log(m.type(), m.text().slice(0, 300)));
await page.goto(process.argv[2]);
await page.waitForTimeout(5000);
console.log(await page.locator('[data-testid="sync-status"] .chip').first().getAttribute('title'));
await browser.close();
