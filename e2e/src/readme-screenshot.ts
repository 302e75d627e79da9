/**
 * Makes the README's screenshot of the demo (docs/demo.png): two devices fill a board through
 * the real hub, one runs the archive saga, and the other loses a conflict over a WIP limit and is
 * told so, with who came first.
 * `node --import tsx e2e/src/readme-screenshot.ts` (builds the demo first).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DemoRig } from './demo-rig.ts';
import type { Device } from './device.ts';
import setup from './global-setup.ts';
import { ROOT } from './paths.ts';

await setup();
const rig = await DemoRig.start('readme', { tmpPrefix: 'eventloom-shot-' });
try {
  const ada = await rig.open('ada');
  const linus = await rig.open('linus');
  // Each device joins under a name it picks; its person then changes it, as one would.
  const rename = async (device: Device, name: string) => {
    await device.memberName();
    await device.page.locator('[data-testid="identity"]').click();
    await device.page.locator('#my-name').fill(name);
    await device.page.locator('[data-testid="my-name-save"]').click();
    await device.page.locator('[data-testid="my-name"]', { hasText: name }).waitFor();
  };
  await rename(ada, 'Ada');
  await rename(linus, 'Linus');
  await Promise.all([ada.waitSynced(), linus.waitSynced()]);

  await ada.addCard('backlog', 'Research conflict UX');
  await ada.addCard('backlog', 'Dark mode');
  await ada.addCard('todo', 'Write the release notes');
  await linus.addCard('todo', 'Migrate the hub to Postgres');
  await linus.addCard('doing', 'Fix the login redirect');
  await ada.addCard('doing', 'Design the onboarding flow');
  await ada.addCard('todo', 'Plan the sprint');
  await ada.addCard('done', 'Write the quick start');
  await ada.addCard('done', 'Set up CI');
  await linus.page.getByRole('button', { name: '+ Add a column' }).click();
  await linus.page.getByPlaceholder('Column name').fill('Released');
  await linus.page.getByRole('button', { name: 'Add column', exact: true }).click();
  const released = linus.page.locator('[data-testid="column"][aria-label="Released"]');
  const releasedId = (await released.getAttribute('data-column-id'))!;
  await linus.addCard(releasedId, 'Ship v0.1');
  await linus.addCard(releasedId, 'Tag the release');
  await Promise.all([ada.waitSynced(), linus.waitSynced()]);

  // Assign and block through the card editor, as a person would.
  const edit = async (device: Device, title: string, change: () => Promise<void>) => {
    await device.page.locator('[data-testid="card-title"]', { hasText: title }).click();
    await change();
    await device.page.locator('[data-testid="card-save"]').click();
  };
  await edit(linus, 'Fix the login redirect', async () => {
    await linus.page.locator('[data-testid="card-assignee"]').selectOption({ label: 'Linus (you)' });
  });
  await edit(ada, 'Write the release notes', async () => {
    await ada.page.locator('[data-testid="card-assignee"]').selectOption({ label: 'Ada (you)' });
  });
  await edit(linus, 'Migrate the hub to Postgres', async () => {
    await linus.page.getByPlaceholder('Why is it blocked?').fill('waiting for the ops review');
    await linus.page.locator('[data-testid="card-block"]').click();
  });
  await Promise.all([ada.waitSynced(), linus.waitSynced()]);

  // Linus archives Released: the saga archives each card, then the column.
  linus.page.once('dialog', (dialog) => void dialog.accept());
  await released.locator('[data-testid="column-menu"]').click();
  await released.locator('[data-testid="archive-column"]').click();
  // Six round trips to the hub, one step after another: generous for a loaded machine.
  await ada.page.locator(`[data-column-id="${releasedId}"]`).waitFor({ state: 'detached', timeout: 120_000 });
  await Promise.all([ada.waitSynced(), linus.waitSynced()]);

  // Both offline, both start one more thing: Doing has room for one. Linus syncs first; Ada's move
  // was decided on a board without his, and the board refuses it when it is decided again.
  const cancel = ada.page.locator('.add-card-form button:not([type="submit"])');
  while ((await cancel.count()) > 0) await cancel.first().click();
  await Promise.all([ada.setOffline(true), linus.setOffline(true)]);
  await linus.moveCardTo('Plan the sprint', 'Doing');
  await ada.moveCardTo('Write the release notes', 'Doing');
  await linus.setOffline(false);
  await linus.waitSynced();
  await ada.setOffline(false);
  await ada.page
    .locator('[data-testid="conflict-toast"][data-outcome="undone"]')
    .waitFor({ timeout: 60_000 });
  await ada.waitSynced();
  await ada.page.mouse.move(0, 0);
  await mkdir(join(ROOT, 'docs'), { recursive: true });
  await ada.page.screenshot({ path: join(ROOT, 'docs', 'demo.png') });
  console.log('wrote docs/demo.png');
  // The same board on a phone, to look at (not committed).
  await linus.page.setViewportSize({ width: 390, height: 844 });
  await linus.screenshot('phone');
} finally {
  await rig.close();
}
