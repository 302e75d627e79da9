import { MessageName, matchesSubscription, type CommittedEvent, type LiveEvents } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type { EventStore, HeadChange } from '../store/event-store.ts';
import { chunkByBytes } from './chunk-by-bytes.ts';
import { EventFlow } from './event-flow.ts';
import type { HubMetrics } from './hub-metrics.ts';
import type { HubAction, HubLimits } from './hub-options.ts';

/** What the live feed needs of a session that said `hello`. */
export interface FeedSession {
  readonly socket: Socket;
  readonly subscriptions: readonly string[];
  /** The position up to which this socket was sent everything it subscribes to (`prev`). */
  sentUpTo: number;
  allowed(action: HubAction, stream: string): boolean | Promise<boolean>;
  isSlowConsumer(): boolean;
  dropSlowConsumer(): void;
}

/** What the live feed reads of its hub. */
export interface FeedContext {
  readonly io: Server;
  readonly store: EventStore;
  readonly limits: HubLimits;
  readonly metrics: HubMetrics;
  readonly logger: Logger;
  readonly ready: ReadonlySet<FeedSession>;
}

/** How long the feed waits before reading again after the store failed a read, in ms. */
const RETRY_MS = 1_000;

/**
 * Follows the store's head (`EventStore.watchHead`: this node's commits and, on a shared database,
 * every other node's) and sends each ready session of this node (`io.local`: never through an
 * adapter) the committed events it subscribes to, in position order, with `prev`. Events the
 * store handed over with a change that follows on from the feed's target are sent as they are;
 * anything else is read back from the store. Only one delivery runs at a time and `cursor` only
 * moves forward, so no session ever sees position n+1 before n.
 *
 * Invariant: every event at or below `cursor` has been offered to every session that was ready
 * when it was read; a session that becomes ready starts at `cursor` (its `welcome.head`).
 */
export class LiveFeed {
  /** Times each commit to its broadcast (and pushes to their commit): the hub's flow metric and log. */
  readonly flow: EventFlow;
  readonly #ctx: () => FeedContext;
  #cursor: number;
  #target: number;
  /** Runs of committed events handed over by the store, not yet delivered, in position order. */
  #given: { from: number; events: readonly CommittedEvent[] }[] = [];
  #running: Promise<void> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(ctx: () => FeedContext, head: number) {
    this.#ctx = ctx;
    this.flow = new EventFlow(ctx);
    this.#cursor = head;
    this.#target = head;
  }

  /** The highest position offered to the ready sessions. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Takes a change of the store's head: delivers the events handed over, or reads them back. */
  onHead(change: HeadChange): void {
    if (this.#closed) return;
    // Taken now, the store may not hold them later; and only for a listener: building them costs
    // as much as a read (a text and a parse per event), and a feed nobody listens to skips them.
    if (change.events !== undefined && change.from === this.#target && anyoneListens(this.#ctx())) {
      const events = change.events();
      if (events.length === change.head - change.from && events[0]?.position === change.from + 1) {
        this.#given.push({ from: change.from, events });
      }
    }
    this.advanceTo(change.head);
  }

  /** Tells the feed that events up to `head` are committed; it catches up in the background. */
  advanceTo(head: number): void {
    if (head > this.#target) {
      this.#target = head;
      this.flow.durable(head);
    }
    if (this.#running !== undefined || this.#retry !== undefined || this.#closed) return;
    this.#running = this.#run().then(
      (failed) => {
        this.#running = undefined;
        if (failed) {
          // The store could not be read: try again later, not in a tight loop.
          this.#retry = setTimeout(() => {
            this.#retry = undefined;
            this.advanceTo(this.#target);
          }, RETRY_MS);
          this.#retry.unref?.();
        } else if (this.#cursor < this.#target) this.advanceTo(this.#target);
      },
      () => {
        this.#running = undefined;
      },
    );
  }

  /** Resolves once the feed has caught up with everything it was told of. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Stops reading: nothing more is delivered. */
  close(): void {
    this.#closed = true;
    this.#given = [];
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  /** Catches up with the target; true when reading the store failed. */
  async #run(): Promise<boolean> {
    const ctx = this.#ctx();
    while (this.#cursor < this.#target && !this.#closed) {
      if (!anyoneListens(ctx)) {
        // Nobody could receive these events: skip reading them back. Whoever subscribes later starts after them.
        this.#cursor = this.#target;
        this.#given = [];
        this.flow.skipped(this.#cursor);
        return false;
      }
      while (this.#given.length > 0 && this.#given[0]!.from < this.#cursor) this.#given.shift();
      let page: { events: readonly CommittedEvent[]; until: number; jsonChars?: number | undefined };
      const given = this.#given[0];
      if (given !== undefined && given.from === this.#cursor) {
        // At most a page, as a read would give it; the rest stays for the next turn.
        const take = Math.min(given.events.length, ctx.limits.maxBatchSize);
        if (take === given.events.length) this.#given.shift();
        else this.#given[0] = { from: given.from + take, events: given.events.slice(take) };
        page = { events: given.events.slice(0, take), until: given.from + take };
      } else {
        try {
          page = await ctx.store.read({
            from: this.#cursor,
            limit: ctx.limits.maxBatchSize,
            maxJsonChars: ctx.limits.maxMessageBytes,
          });
        } catch (error) {
          ctx.logger.error({ err: error }, 'live feed: reading committed events failed; will retry');
          return true;
        }
      }
      if (page.until <= this.#cursor) return true;
      const from = this.#cursor;
      this.#cursor = page.until;
      if (page.until > this.#target) this.#target = page.until;
      for (const chunk of chunkByBytes(page.events, ctx.limits.maxMessageBytes, page.jsonChars)) {
        const pending = deliver(ctx, chunk);
        if (pending !== undefined) await pending;
      }
      this.flow.broadcast(from, page.until);
    }
    return false;
  }
}

function anyoneListens(ctx: FeedContext): boolean {
  for (const session of ctx.ready) if (session.subscriptions.length > 0) return true;
  return false;
}

/**
 * Sends `events` (consecutive, in position order) to every ready session that should see them.
 * Synchronous unless an authorization decision is pending: no microtask per session between the
 * commit and the broadcast.
 */
function deliver(ctx: FeedContext, events: CommittedEvent[]): Promise<void> | undefined {
  if (events.length === 0 || ctx.ready.size === 0) return undefined;
  const groups = new Map<string, { message: LiveEvents; sessions: FeedSession[] }>();
  const sessions = [...ctx.ready];
  for (let i = 0; i < sessions.length; i++) {
    const session = sessions[i]!;
    const selected = select(session, events);
    if (selected instanceof Promise) return finishDeliver(ctx, events, groups, sessions, i, selected);
    offer(ctx, groups, session, events, selected);
  }
  send(ctx, groups);
  return undefined;
}

/** {@link deliver} from session `at` on, once its pending selection is known. */
async function finishDeliver(
  ctx: FeedContext,
  events: CommittedEvent[],
  groups: Map<string, { message: LiveEvents; sessions: FeedSession[] }>,
  sessions: readonly FeedSession[],
  at: number,
  pending: Promise<CommittedEvent[]>,
): Promise<void> {
  offer(ctx, groups, sessions[at]!, events, await pending);
  for (let i = at + 1; i < sessions.length; i++) {
    const selected = select(sessions[i]!, events);
    offer(ctx, groups, sessions[i]!, events, selected instanceof Promise ? await selected : selected);
  }
  send(ctx, groups);
}

/** Adds a session's selection to the group of sessions that get the same message. */
function offer(
  ctx: FeedContext,
  groups: Map<string, { message: LiveEvents; sessions: FeedSession[] }>,
  session: FeedSession,
  events: CommittedEvent[],
  selected: CommittedEvent[],
): void {
  if (selected.length === 0 || !ctx.ready.has(session)) return;
  if (session.isSlowConsumer()) {
    session.dropSlowConsumer();
    return;
  }
  const prev = session.sentUpTo;
  session.sentUpTo = selected[selected.length - 1]!.position;
  const key = selected === events ? `${prev}|*` : `${prev}|${selected.map((e) => e.position).join(',')}`;
  const group = groups.get(key);
  if (group === undefined) groups.set(key, { message: { events: selected, prev }, sessions: [session] });
  else group.sessions.push(session);
}

function send(ctx: FeedContext, groups: Map<string, { message: LiveEvents; sessions: FeedSession[] }>): void {
  for (const { message, sessions } of groups.values()) {
    if (sessions.length === 1) sessions[0]!.socket.emit(MessageName.events, message);
    // One broadcast encodes the message once for all its sockets; local: an adapter (Redis)
    // never carries events, every node reads them from the log.
    else ctx.io.local.to(sessions.map((s) => s.socket.id)).emit(MessageName.events, message);
  }
}

/**
 * The events a session should get: past its `sentUpTo`, subscribed, and allowed. Same array when
 * all are. A promise only when an authorization decision is pending.
 */
function select(
  session: FeedSession,
  events: CommittedEvent[],
): CommittedEvent[] | Promise<CommittedEvent[]> {
  let selected: CommittedEvent[] | undefined;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.position > session.sentUpTo && matchesSubscription(event.stream, session.subscriptions)) {
      const allowed = session.allowed('subscribe', event.stream);
      if (typeof allowed !== 'boolean') return selectAsync(session, events, i, selected, allowed);
      if (allowed) {
        selected?.push(event);
        continue;
      }
    }
    selected ??= events.slice(0, i);
  }
  return selected ?? events;
}

async function selectAsync(
  session: FeedSession,
  events: CommittedEvent[],
  from: number,
  selected: CommittedEvent[] | undefined,
  decision: Promise<boolean>,
): Promise<CommittedEvent[]> {
  let pending: Promise<boolean> | undefined = decision;
  for (let i = from; i < events.length; i++) {
    const event = events[i]!;
    let keep: boolean;
    if (pending !== undefined) {
      keep = await pending;
      pending = undefined;
    } else {
      keep = event.position > session.sentUpTo && matchesSubscription(event.stream, session.subscriptions);
      if (keep) {
        const allowed = session.allowed('subscribe', event.stream);
        keep = typeof allowed === 'boolean' ? allowed : await allowed;
      }
    }
    if (keep) selected?.push(event);
    else selected ??= events.slice(0, i);
  }
  return selected ?? events;
}
