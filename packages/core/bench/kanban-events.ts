/**
 * The seeded kanban log the core benchmarks fold and react to: the same events in every run, so
 * that two runs (and two benchmarks) measure the same work.
 */
import type { ConfirmedEvent } from '../src/reactions/confirmed-event.ts';

export const COLUMNS = ['todo', 'doing', 'done'] as const;
export type Column = (typeof COLUMNS)[number];

/** The event types of the board, type → data. */
export interface BoardEvents {
  'card.added': { id: string; title: string; column: Column };
  'card.moved': { id: string; from: Column; to: Column };
  'card.renamed': { id: string; title: string };
}

/**
 * Where each type's share of the log ends, as cumulative fractions of [0, 1): below `added` a card
 * is added, below `moved` one is moved, below `renamed` one is renamed, and from there on the event
 * is a `board.viewed` that no projection handles.
 */
export interface KanbanMix {
  readonly added: number;
  readonly moved: number;
  readonly renamed: number;
}

/**
 * `count` confirmed events of one board from one client, positions 1 … count, in the shares of `mix`
 * (the first one always adds a card); the same events for the same arguments.
 *
 * @example const events = makeKanbanEvents(100_000, { added: 0.4, moved: 0.85, renamed: 1 });
 */
export function makeKanbanEvents(count: number, mix: KanbanMix): ConfirmedEvent[] {
  const events: ConfirmedEvent[] = [];
  const where: Column[] = [];
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  for (let i = 1; i <= count; i++) {
    const r = random();
    const card = Math.floor(random() * where.length);
    let type: string;
    let data: unknown;
    if (where.length === 0 || r < mix.added) {
      const column = COLUMNS[Math.floor(random() * 3)]!;
      where.push(column);
      type = 'card.added';
      data = { id: `card-${where.length}`, title: `Card ${where.length}`, column };
    } else if (r < mix.moved) {
      const from = where[card]!;
      const to = COLUMNS[(COLUMNS.indexOf(from) + 1 + Math.floor(random() * 2)) % 3]!;
      where[card] = to;
      type = 'card.moved';
      data = { id: `card-${card + 1}`, from, to };
    } else if (r < mix.renamed) {
      type = 'card.renamed';
      data = { id: `card-${card + 1}`, title: `Card ${card + 1} (${i})` };
    } else {
      type = 'board.viewed';
      data = { by: 'ann' };
    }
    events.push({
      id: `0190a1b2-c3d4-7e5f-8a6b-${i.toString(16).padStart(12, '0')}`,
      type,
      version: 1,
      kind: 'domain',
      stream: 'board:1',
      data,
      meta: {},
      clientId: 'client-a',
      clientSeq: i,
      hlc: `${String(1_732_700_000_000 + i).padStart(15, '0')}-0000000000-client-a`,
      position: i,
      streamVersion: i,
      recordedAt: '2026-11-27T10:00:00.000Z',
    });
  }
  return events;
}
