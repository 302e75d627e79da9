import { ErrorCode, type EventEnvelope } from '@eventloom/protocol';
import type { ClientStore, DeadLetterRow, PendingCommand } from './client-store.ts';
import type { DeviceClock } from './device-clock.ts';
import type { ProjectionHost } from './projection-host.ts';

/**
 * Whether a dead letter is an event held aside, not refused for good: the hub did not know its
 * type or version yet (`unknown-event-version`, recorded by a hub of protocol 4 so that the
 * device's later events go on). It is sent again at the next `hello` ({@link requeueHeld}).
 */
export function isHeldAside(letter: Pick<DeadLetterRow, 'error'>): boolean {
  return letter.error.code === ErrorCode.unknownEventVersion;
}

/**
 * Puts the events held aside back in the outbox, each under its own id with a new clientSeq and
 * hlc (the hub used their old seqs for the refusal), in their order, a decision's events together
 * with its command; then deletes their dead letters. An event that is pending already (a crash
 * between the two steps) only loses its letter. Runs inside the runtime's queue.
 */
export async function requeueHeld(deps: {
  readonly store: ClientStore;
  readonly host: ProjectionHost;
  readonly clock: DeviceClock;
}): Promise<EventEnvelope[]> {
  const { store, host, clock } = deps;
  const held = (await store.readDeadLetters()).filter(isHeldAside);
  if (held.length === 0) return [];
  const pending = new Set((await store.readPending()).map((row) => row.event.id));
  const groups = new Map<string, DeadLetterRow[]>();
  for (const letter of held) {
    if (pending.has(letter.event.id)) continue;
    const command = letter.rejection.command;
    const key = command === undefined ? `event:${letter.event.id}` : `command:${command.first}`;
    const group = groups.get(key) ?? [];
    group.push(letter);
    groups.set(key, group);
  }
  const requeued: EventEnvelope[] = [];
  for (const letters of groups.values()) {
    const remembered = letters[0]!.rejection.command;
    const result = await store.appendPending((meta) => {
      clock.catchUp(meta.hlc);
      const events = letters.map((letter, i): EventEnvelope => ({
        ...letter.event,
        clientSeq: meta.clientSeq + i + 1,
        hlc: clock.stamp(),
      }));
      const command: PendingCommand | undefined =
        remembered === undefined ? undefined : { ...remembered, first: meta.clientSeq + 1 };
      return { events, hlc: events.at(-1)?.hlc, ...(command === undefined ? {} : { command }) };
    });
    await host.follow(result.before, true, {
      meta: result.meta,
      confirmed: [],
      pending: result.rows,
      pendingReset: false,
      historyReset: false,
    });
    requeued.push(...result.rows.map((row) => row.event));
  }
  await store.deleteDeadLetters(held.map((letter) => letter.id));
  return requeued;
}
