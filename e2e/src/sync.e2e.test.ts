import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoRig } from './demo-rig.ts';
import type { Device } from './device.ts';

let rig: DemoRig;
beforeAll(async () => {
  rig = await DemoRig.start('sync');
});
afterAll(() => rig?.close());

const open = (name: string): Promise<Device> => rig.open(name);

/** Waits until every device shows the same board as the first. */
async function expectSameBoards(all: readonly Device[]): Promise<void> {
  await expect
    .poll(
      async () => {
        const boards = await Promise.all(all.map((d) => d.board()));
        return boards.every((b) => JSON.stringify(b) === JSON.stringify(boards[0]));
      },
      { timeout: 30_000, interval: 250 },
    )
    .toBe(true);
}

describe('devices sharing a board through the hub', () => {
  let alice: Device;
  let bob: Device;

  it('edits made offline on two devices converge to identical boards once both are back', async () => {
    alice = await open('alice');
    bob = await open('bob');
    await Promise.all([alice.waitSynced(), bob.waitSynced()]);
    await alice.addCard('todo', 'Plan the sprint');
    await bob.page
      .locator('[data-testid="card-title"]', { hasText: 'Plan the sprint' })
      .waitFor({ timeout: 15_000 });

    await Promise.all([alice.setOffline(true), bob.setOffline(true)]);
    await alice.addCard('todo', 'Alice: write the changelog');
    await alice.addCard('backlog', 'Alice: try the new router');
    await alice.moveCardTo('Plan the sprint', 'Doing');
    await alice.dragCard('Alice: write the changelog', 'done');
    await bob.addCard('backlog', 'Bob: review the API');
    await bob.addCard('doing', 'Bob: fix the flaky test');
    await bob.moveCardTo('Bob: review the API', 'To do');
    expect((await alice.syncState()).pending).toBeGreaterThan(0);
    expect(await bob.cardTitles()).not.toContain('Alice: try the new router');
    await alice.screenshot('1-alice-offline');
    await bob.screenshot('1-bob-offline');

    await Promise.all([alice.setOffline(false), bob.setOffline(false)]);
    await Promise.all([alice.waitSynced(), bob.waitSynced()]);
    await expectSameBoards([alice, bob]);
    expect(await alice.cardTitles()).toEqual([
      'Alice: try the new router',
      'Alice: write the changelog',
      'Bob: fix the flaky test',
      'Bob: review the API',
      'Plan the sprint',
    ]);
    // Every move made offline holds, on both screens, whichever of the two synced first.
    const board = await alice.board();
    const column = (id: string) => board.find((c) => c.id === id)?.cards ?? [];
    expect(column('doing')).toEqual(expect.arrayContaining(['Plan the sprint', 'Bob: fix the flaky test']));
    expect(column('done')).toEqual(['Alice: write the changelog']);
    expect(column('todo')).toEqual(['Bob: review the API']);
    expect(column('backlog')).toEqual(['Alice: try the new router']);
    await alice.screenshot('2-alice-converged');
    await bob.screenshot('2-bob-converged');
  });

  it('a WIP-limit conflict made offline is rejected by the hub and shown with its resolution', async () => {
    // Doing holds 2 of 3: each device, offline, moves one more card in; only one can stay.
    await Promise.all([alice.setOffline(true), bob.setOffline(true)]);
    await alice.moveCardTo('Alice: try the new router', 'To do');
    await alice.moveCardTo('Alice: try the new router', 'Doing');
    await bob.moveCardTo('Bob: review the API', 'Doing');
    await alice.setOffline(false);
    await alice.waitSynced();
    await bob.setOffline(false);
    await expectSameBoards([alice, bob]);
    const doing = (await bob.board()).find((c) => c.id === 'doing');
    expect(doing?.cards).toHaveLength(3);
    expect(doing?.cards).toContain('Alice: try the new router');
    expect(doing?.cards).not.toContain('Bob: review the API');

    // Bob's move was decided on a stale board: the hub rejected it, the board decided it again
    // and refused it (Doing is full). Bob is told at once, in words: who came first, what they
    // did, and that his move was undone; the codes wait in a details view.
    const aliceName = await alice.memberName();
    const toast = bob.page.getByRole('alert').filter({ hasText: 'Your move was undone' });
    await toast.waitFor({ timeout: 15_000 });
    expect(await toast.getAttribute('data-testid')).toBe('conflict-toast');
    const told = await toast.innerText();
    expect(told).toContain(`${aliceName} moved “Alice: try the new router” from To do to Doing.`);
    expect(told).toContain('You moved “Bob: review the API” from To do to Doing.');
    expect(told).toContain('WIP limit of 3');
    expect(told).not.toContain('wrong-expected-version');
    const details = toast.locator('[data-testid="conflict-details"]');
    await details.locator('summary').click();
    expect(await details.innerText()).toContain('wrong-expected-version');
    await bob.screenshot('3-bob-told');
    // It waits in the conflicts and the dead letters too.
    await bob.page.locator('[data-testid="tab-conflicts"]').click();
    const conflict = bob.page.locator('[data-testid="conflict"][data-code="wrong-expected-version"]').first();
    await conflict.waitFor({ timeout: 15_000 });
    expect(await conflict.textContent()).toContain('WIP limit of 3');
    expect(await conflict.textContent()).toContain(aliceName);
    expect(await conflict.getAttribute('data-status')).toBe('open');
    await bob.page.locator('[data-testid="tab-dead-letters"]').click();
    await bob.page.locator('[data-testid="dead-letter"]').first().waitFor();
    await bob.screenshot('3-bob-conflict-dead-letter');

    // Bob resolves it from the notice: raise the limit to 4 and decide the move again.
    await toast.locator('[data-testid="raise-limit"]').click();
    await toast.waitFor({ state: 'detached', timeout: 15_000 });
    await bob.page.locator('[data-testid="tab-conflicts"]').click();
    await bob.page.locator('[data-testid="conflict"][data-status="resolved"]').first().waitFor();
    await expect
      .poll(async () => (await alice.board()).find((c) => c.id === 'doing')?.cards, { timeout: 30_000 })
      .toContain('Bob: review the API');
    await Promise.all([alice.waitSynced(), bob.waitSynced()]);
    await expectSameBoards([alice, bob]);
    const after = (await alice.board()).find((c) => c.id === 'doing');
    expect(after?.cards).toHaveLength(4);
    await bob.page.locator('[data-testid="tab-dead-letters"]').click();
    expect(await bob.page.locator('[data-testid="dead-letter"]').count()).toBe(0);
    await bob.page.locator('[data-testid="tab-conflicts"]').click();
    await bob.screenshot('4-bob-conflict-resolved');
  });

  it('a move made on a stale board is decided again, and the device is told whose move came first', async () => {
    await Promise.all([alice.setOffline(true), bob.setOffline(true)]);
    await alice.moveCardTo('Plan the sprint', 'Done');
    await bob.moveCardTo('Plan the sprint', 'To do');
    await alice.setOffline(false);
    await alice.waitSynced();
    await bob.setOffline(false);
    await Promise.all([alice.waitSynced(), bob.waitSynced()]);
    await expectSameBoards([alice, bob]);
    // Bob's move still holds, after Alice's: it was decided again on the board with her move.
    const todo = (await alice.board()).find((c) => c.id === 'todo');
    expect(todo?.cards).toContain('Plan the sprint');
    const aliceName = await alice.memberName();
    await bob.page.locator('[data-testid="tab-conflicts"]').click();
    // (Moves of the first test that met on the hub may have their own entries: this one is about this card.)
    const entry = bob.page
      .locator('[data-testid="conflict"]')
      .filter({ hasText: `Your move was applied after ${aliceName}’s` })
      .filter({ hasText: 'You moved “Plan the sprint” from Doing to To do.' });
    await entry.waitFor({ timeout: 15_000 });
    expect(await entry.innerText()).toContain(`${aliceName} moved “Plan the sprint” from Doing to Done.`);
    expect(await entry.getAttribute('data-status')).toBe('resolved');
  });

  it('a third device that joins later catches up with everything', async () => {
    const carol = await open('carol');
    await carol.waitSynced();
    await expectSameBoards([alice, bob, carol]);
    const timeline = carol.page.locator('[data-testid="timeline-event"][data-status="confirmed"]');
    expect(await timeline.count()).toBeGreaterThan(8);
    await carol.screenshot('5-carol-caught-up');
  });

  it('a person opening the board in a second browser can say they are a member it has already', async () => {
    const aliceName = await alice.memberName();
    const laptop = await open('alice-laptop');
    await laptop.waitSynced();
    // A new browser joins under a name of its own first, one that no member has.
    const firstName = await laptop.memberName();
    expect(firstName).not.toBe(aliceName);
    await laptop.page.locator('[data-testid="identity"]').click();
    await laptop.page.getByLabel('Already on this board, from another browser? I am').selectOption({
      label: aliceName,
    });
    await laptop.page.locator('[data-testid="i-am-save"]').click();
    await laptop.page.locator('[data-testid="my-name"]', { hasText: aliceName }).waitFor();
    await laptop.addCard('backlog', 'From the laptop');
    await laptop.waitSynced();

    // Bob's screen: the card is Alice's, and the name the laptop had first is gone from the board.
    await bob.page.locator('[data-testid="tab-timeline"]').click();
    const added = bob.page
      .locator('[data-testid="timeline-event"]')
      .filter({ hasText: 'added “From the laptop” to Backlog' });
    await added.waitFor({ timeout: 15_000 });
    expect(await added.locator('.event-text strong').textContent()).toBe(aliceName);
    await bob.page.locator('[data-testid="card-title"]', { hasText: 'From the laptop' }).click();
    const members = await bob.page.locator('[data-testid="card-assignee"] option').allTextContents();
    expect(members).toContain(aliceName);
    expect(members).not.toContain(firstName);
    await bob.page.keyboard.press('Escape');
    // Alice's own screen counts it as hers.
    await alice.page.locator('[data-testid="tab-timeline"]').click();
    const mine = alice.page
      .locator('[data-testid="timeline-event"]')
      .filter({ hasText: 'added “From the laptop” to Backlog' });
    await mine.waitFor({ timeout: 15_000 });
    expect(await mine.locator('.event-text strong').textContent()).toBe('You');
    await laptop.screenshot('6-laptop-is-alice');
  });
});
