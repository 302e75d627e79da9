import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoRig } from './demo-rig.ts';

let rig: DemoRig;
beforeAll(async () => {
  rig = await DemoRig.start('offline-reload');
});
afterAll(() => rig?.close());

describe('the demo offline', () => {
  it('is installable: a manifest with icons, and a service worker that controls the page', async () => {
    const device = await rig.open('a');
    await device.waitForServiceWorker();
    const manifest = (await (await fetch(`${rig.hub.url}/manifest.webmanifest`)).json()) as {
      name: string;
      display: string;
      start_url: string;
      icons: { src: string; sizes: string; purpose?: string }[];
    };
    expect(manifest).toMatchObject({ name: 'Eventloom Board', display: 'standalone', start_url: '/' });
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));
    expect(manifest.icons.some((i) => i.purpose === 'maskable')).toBe(true);
    for (const icon of manifest.icons) {
      const res = await fetch(`${rig.hub.url}/${icon.src}`);
      expect(res.headers.get('content-type')).toBe('image/png');
    }
    expect(await device.page.locator('link[rel="manifest"]').count()).toBe(1);
    await device.close();
  });

  it('reloads with the network off (and the hub gone): the app shell and its data are there', async () => {
    const device = await rig.open('a');
    await device.waitForServiceWorker();
    await device.addCard('todo', 'Written before the network went away');
    await device.addCard('backlog', 'Another card kept on the device');
    await device.moveCardTo('Written before the network went away', 'Doing');
    const before = await device.board();
    await device.screenshot('1-online');

    await device.setOffline(true);
    await rig.hub.stop();
    await device.page.reload();
    await device.waitForBoard();
    await device.page
      .locator('[data-testid="card-title"]', { hasText: 'Another card kept on the device' })
      .waitFor({ timeout: 15_000 });
    expect(await device.board()).toEqual(before);
    await device.screenshot('2-reloaded-offline');

    // Still a working app offline: a new card goes into the outbox, shown as pending.
    await device.addCard('todo', 'Added while offline');
    expect((await device.syncState()).pending).toBeGreaterThan(0);
    expect(
      device.errors.filter((e) => !/net::ERR_INTERNET_DISCONNECTED|Failed to fetch|WebSocket/i.test(e)),
    ).toEqual([]);
    await device.close();
  });
});
