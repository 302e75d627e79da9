import {
  createEventloom,
  createSync,
  createReactions,
  type Eventloom,
  type SyncState,
} from '@eventloom/client';
import {
  confirmAll,
  TodoAdded,
  TodoDone,
  todoCount,
  todoList,
  todoRegistry,
} from '@eventloom/client/testing';
import type { DeadLetter, FoldableEvent } from '@eventloom/core';
import type { EventEnvelope } from '@eventloom/protocol';
import { act, Component, startTransition, useLayoutEffect, type ReactNode } from 'react';
import { createRoot, hydrateRoot, type Root } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, expectTypeOf, inject, it, vi } from 'vitest';
import {
  EventloomProvider,
  useDeadLetters,
  useEvents,
  usePending,
  useProjection,
  useSyncState,
} from './index.ts';
import { syncPortOf } from '@eventloom/client/testing';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function open(prefix: string): Promise<Eventloom> {
  const loom = await createEventloom({
    name: `${prefix}-${crypto.randomUUID()}`,
    registry: todoRegistry,
    projections: [todoList, todoCount],
  });
  cleanup.push(() => loom.close());
  return loom;
}

function mount(ui: ReactNode): { root: Root; el: HTMLElement } {
  const el = document.createElement('div');
  document.body.append(el);
  const root = createRoot(el);
  act(() => root.render(ui));
  cleanup.push(() => {
    act(() => root.unmount());
    el.remove();
  });
  return { root, el };
}

const text = (el: HTMLElement, id: string) => el.querySelector(`[data-id="${id}"]`)?.textContent;

function Count(): ReactNode {
  const count = useProjection(todoCount);
  expectTypeOf(count).toEqualTypeOf<number>();
  return <output data-id="count">{count}</output>;
}

describe('@eventloom/react in Chromium (React 19)', () => {
  it('useProjection gives the initial state, then the stored one, then each change', async () => {
    const loom = await open('react-projection');
    await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'milk', tags: [] }));
    function Titles(): ReactNode {
      const todos = useProjection(todoList);
      return (
        <p data-id="titles">{[...todos.values()].map((t) => `${t.title}${t.done ? '✓' : ''}`).join(',')}</p>
      );
    }
    const { el } = mount(
      <EventloomProvider loom={loom}>
        <Count />
        <Titles />
      </EventloomProvider>,
    );
    await vi.waitFor(() => expect(text(el, 'count')).toBe('1'));
    expect(text(el, 'titles')).toBe('milk');
    await act(async () => {
      await loom.append('list:1', TodoAdded.create({ id: 'b', title: 'eggs', tags: [] }));
      await loom.append('list:1', TodoDone.create({ id: 'a' }));
    });
    await vi.waitFor(() => expect(text(el, 'titles')).toBe('milk✓,eggs'));
    expect(text(el, 'count')).toBe('2');
  });

  it('gives the initial state while the Eventloom opens, then its state', async () => {
    const loom = await open('react-opening');
    await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'milk', tags: [] }));
    const ui = (l: Eventloom | undefined) => (
      <EventloomProvider loom={l}>
        <Count />
      </EventloomProvider>
    );
    const { root, el } = mount(ui(undefined));
    expect(text(el, 'count')).toBe('0');
    act(() => root.render(ui(loom)));
    await vi.waitFor(() => expect(text(el, 'count')).toBe('1'));
  });

  it('throws a sentence outside a provider, and for dead letters without the reactions', async () => {
    const errors: string[] = [];
    class Boundary extends Component<{ children: ReactNode }, { error?: string }> {
      override state: { error?: string } = {};
      static getDerivedStateFromError(error: Error) {
        return { error: error.message };
      }
      override componentDidCatch(error: Error) {
        errors.push(error.message);
      }
      override render() {
        return this.state.error ?? this.props.children;
      }
    }
    function Letters(): ReactNode {
      return <>{useDeadLetters().length}</>;
    }
    vi.spyOn(console, 'error').mockImplementation(() => {});
    cleanup.push(() => vi.restoreAllMocks());
    mount(
      <Boundary>
        <Count />
      </Boundary>,
    );
    const loom = await open('react-no-reactions');
    mount(
      <Boundary>
        <EventloomProvider loom={loom}>
          <Letters />
        </EventloomProvider>
      </Boundary>,
    );
    expect(errors).toEqual([
      'useProjection must be called inside an <EventloomProvider>',
      'useDeadLetters needs the reactions: <EventloomProvider loom={loom} reactions={createReactions(loom, …)}>',
    ]);
  });

  it('usePending and useEvents follow the outbox and the confirmed log, typed by the definitions', async () => {
    const loom = await open('react-events');
    let pending: readonly EventEnvelope[] = [];
    let events: readonly FoldableEvent[] = [];
    function Log(): ReactNode {
      pending = usePending();
      const typed = useEvents('list:1', [TodoAdded]);
      expectTypeOf<(typeof typed)[number]['data']>().toEqualTypeOf<{
        id: string;
        title: string;
        tags: string[];
      }>();
      expectTypeOf<(typeof typed)[number]['type']>().toEqualTypeOf<'todo.added'>();
      events = typed;
      const all = useEvents({ stream: 'list:1' });
      return (
        <p data-id="log">
          {pending.length} pending, {typed.length} added, {all.length} confirmed
        </p>
      );
    }
    const { el } = mount(
      <EventloomProvider loom={loom}>
        <Log />
      </EventloomProvider>,
    );
    await vi.waitFor(() => expect(text(el, 'log')).toBe('0 pending, 0 added, 0 confirmed'));
    await act(async () => {
      await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'milk', tags: [] }));
      await loom.append('list:1', TodoDone.create({ id: 'a' }));
      await loom.append('list:2', TodoAdded.create({ id: 'b', title: 'other list', tags: [] }));
    });
    await vi.waitFor(() => expect(text(el, 'log')).toBe('3 pending, 0 added, 0 confirmed'));
    expect(pending.map((e) => e.clientSeq)).toEqual([1, 2, 3]);
    await act(async () => {
      await confirmAll(loom);
    });
    await vi.waitFor(() => expect(text(el, 'log')).toBe('0 pending, 1 added, 2 confirmed'));
    expect(events.map((e) => [e.type, e.position])).toEqual([['todo.added', 1]]);
  });

  it('useEvents picks up after the last event it holds when a component listens again', async () => {
    const loom = await open('react-events-again');
    await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
    await confirmAll(loom);
    function Positions(): ReactNode {
      return (
        <p data-id="positions">
          {useEvents('list:1')
            .map((e) => e.position)
            .join(',')}
        </p>
      );
    }
    const ui = (show: boolean) => (
      <EventloomProvider loom={loom}>{show ? <Positions /> : null}</EventloomProvider>
    );
    const { root, el } = mount(ui(true));
    await vi.waitFor(() => expect(text(el, 'positions')).toBe('1'));
    act(() => root.render(ui(false)));
    await loom.append('list:1', TodoAdded.create({ id: 'b', title: 'b', tags: [] }));
    await confirmAll(loom);
    act(() => root.render(ui(true)));
    await vi.waitFor(() => expect(text(el, 'positions')).toBe('1,2'));
  });

  it('useSyncState follows the sync to the hub, and usePending empties as the hub takes the events', async () => {
    const loom = await open('react-sync');
    const sync = createSync(loom, { url: inject('eventloomHubUrl'), subscriptions: ['react:*'] });
    cleanup.push(() => sync.close());
    const states: SyncState[] = [];
    function Status(): ReactNode {
      const state = useSyncState();
      states.push(state);
      return (
        <p data-id="status">
          {state} {usePending().length} {useEvents('react:1').length}
        </p>
      );
    }
    const { el } = mount(
      <EventloomProvider loom={loom} sync={sync}>
        <Status />
      </EventloomProvider>,
    );
    await vi.waitFor(() => expect(text(el, 'status')).toBe('live 0 0'), { timeout: 15_000 });
    expect(states[0]).toBe('offline');
    await act(async () => {
      await loom.append(`react:1`, TodoAdded.create({ id: 'a', title: 'a', tags: [] }));
      await sync.flushed();
    });
    await vi.waitFor(() => expect(text(el, 'status')).toBe('live 0 1'));
  });

  it('useDeadLetters lists the pushes the hub refused', async () => {
    const loom = await open('react-dead-letters');
    const reactions = createReactions(loom);
    cleanup.push(() => reactions.stop());
    let letters: readonly DeadLetter[] = [];
    function Letters(): ReactNode {
      letters = useDeadLetters();
      return <p data-id="letters">{letters.length}</p>;
    }
    const { el } = mount(
      <EventloomProvider loom={loom} reactions={reactions}>
        <Letters />
      </EventloomProvider>,
    );
    expect(text(el, 'letters')).toBe('0');
    const refused = await loom.append('list:1', TodoAdded.create({ id: 'z', title: 'z', tags: [] }));
    await act(async () => {
      await syncPortOf(loom).markRejected([
        { id: refused.id, code: 'invalid', message: 'refused by a test' },
      ]);
    });
    await vi.waitFor(() => expect(text(el, 'letters')).toBe('1'));
    expect(letters.map((l) => [l.handler, l.event?.id])).toEqual([['eventloom.sync', refused.id]]);
  });

  it('never tears: every component of one commit shows the same state while events arrive', async () => {
    const loom = await open('react-tearing');
    const el = document.createElement('div');
    document.body.append(el);
    const commits: string[][] = [];
    function Slow(): ReactNode {
      const count = useProjection(todoCount);
      const until = performance.now() + 3;
      while (performance.now() < until); // a slow render, so that React yields between children
      return <span>{count}</span>;
    }
    function All(): ReactNode {
      const count = useProjection(todoCount);
      // After each commit: what the DOM shows, the parent's value first.
      useLayoutEffect(() => {
        commits.push([String(count), ...[...el.querySelectorAll('span')].map((s) => s.textContent ?? '')]);
      });
      return Array.from({ length: 40 }, (_, i) => <Slow key={i} />);
    }
    const root = createRoot(el);
    cleanup.push(() => {
      root.unmount();
      el.remove();
    });
    (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
    cleanup.push(
      () => ((globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true),
    );
    // A transition renders concurrently (in slices, yielding between them); events land meanwhile.
    startTransition(() =>
      root.render(
        <EventloomProvider loom={loom}>
          <All />
        </EventloomProvider>,
      ),
    );
    for (let i = 0; i < 20; i++) {
      await loom.append('list:1', TodoAdded.create({ id: `t${i}`, title: 't', tags: [] }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await vi.waitFor(() => expect(commits.at(-1)?.[0]).toBe('20'), { timeout: 10_000 });
    expect(commits.length).toBeGreaterThan(1);
    for (const commit of commits) {
      expect(commit).toHaveLength(41);
      expect(new Set(commit).size, `one commit showed ${commit.join(' ')}`).toBe(1);
    }
  });

  it('renders the initial state on the server and hydrates without a mismatch', async () => {
    const loom = await open('react-ssr');
    await loom.append('list:1', TodoAdded.create({ id: 'a', title: 'milk', tags: [] }));
    function Page(): ReactNode {
      const count = useProjection(todoCount);
      const state = useSyncState();
      const pending = usePending();
      return (
        <p data-id="page">
          {count} {state} {pending.length}
        </p>
      );
    }
    // The server has no IndexedDB and no Eventloom.
    const html = renderToString(
      <EventloomProvider loom={undefined}>
        <Page />
      </EventloomProvider>,
    );
    expect(html).toBe('<p data-id="page">0<!-- --> <!-- -->offline<!-- --> <!-- -->0</p>');
    const el = document.createElement('div');
    el.innerHTML = html;
    document.body.append(el);
    const recoverable: unknown[] = [];
    let root: Root | undefined;
    act(() => {
      root = hydrateRoot(
        el,
        <EventloomProvider loom={loom}>
          <Page />
        </EventloomProvider>,
        { onRecoverableError: (error) => recoverable.push(error) },
      );
    });
    cleanup.push(() => {
      act(() => root?.unmount());
      el.remove();
    });
    await vi.waitFor(() => expect(text(el, 'page')).toBe('1 offline 1'));
    expect(recoverable).toEqual([]);
  });
});
