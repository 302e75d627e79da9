import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoRig } from './demo-rig.ts';
import type { Device } from './device.ts';
import type { HubProcess } from './hub-process.ts';

const CARDS = 120;
const MORE = 30;

let rig: DemoRig;
beforeAll(async () => {
  rig = await DemoRig.start('hub-restart');
});
afterAll(() => rig?.close());

describe('the hub killed during a sync', () => {
  it('loses no card and duplicates none', async () => {
    const alice = await rig.open('alice');
    await alice.waitSynced();

    // Offline, a burst of cards piles up in the outbox; back online, the hub dies (SIGKILL) right
    // after its first commit: stored, maybe not acked yet, so pushed again to the next hub.
    await alice.setOffline(true);
    await createCards(alice, 1, CARDS);
    expect((await alice.syncState()).pending).toBeGreaterThanOrEqual(CARDS);
    await alice.setOffline(false);
    await waitForFirstCommit(rig.hub);
    await rig.hub.kill();
    await alice.screenshot('1-hub-killed-after-commit');
    await rig.restartHub();
    await alice.waitSynced(90_000);
    expect(await alice.cardTitles()).toEqual(titles(CARDS));

    // Again, killed as soon as the device starts to connect: before anything is committed, or
    // while the push is in flight.
    await alice.setOffline(true);
    await createCards(alice, CARDS + 1, MORE);
    await alice.setOffline(false);
    await alice.page.waitForFunction(
      () =>
        document.querySelector('[data-testid="sync-status"]')?.getAttribute('data-sync-state') !== 'offline',
      undefined,
      { polling: 5, timeout: 30_000 },
    );
    await rig.hub.kill();
    await alice.screenshot('2-hub-killed-while-connecting');
    await rig.restartHub();
    await alice.waitSynced(90_000);
    expect(await alice.cardTitles()).toEqual(titles(CARDS + MORE));

    // A device that never saw the outbox reads the hub's log: every card exactly once.
    const bob = await rig.open('bob');
    await bob.waitSynced();
    expect(await bob.cardTitles()).toEqual(titles(CARDS + MORE));
    await bob.screenshot('3-after-restarts');
  });
});

const titles = (count: number): string[] => Array.from({ length: count }, (_, i) => title(i + 1));
const title = (n: number): string => `Card ${String(n).padStart(3, '0')}`;

/** Creates cards through the app's commands (faster than typing them). */
async function createCards(device: Device, from: number, count: number): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => title(from + i));
  await device.page.evaluate(async (list) => {
    type Demo = { commands: { createCard(input: object): Promise<unknown> } };
    const app = (globalThis as unknown as { eventloomDemo: Demo }).eventloomDemo;
    for (const name of list)
      await app.commands.createCard({ columnId: 'backlog', title: name, createdBy: null });
  }, names);
}

/** Polls the hub's metrics until it has committed an event. */
async function waitForFirstCommit(hub: HubProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const text = await fetch(`${hub.url}/metrics`).then(
      (res) => res.text(),
      () => '',
    );
    const appended = /^eventloom_hub_events_appended_total (\d+)/m.exec(text);
    if (appended !== null && Number(appended[1]) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error('the hub committed nothing within 30 s');
}
