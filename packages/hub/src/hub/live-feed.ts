import { MessageName, matchesSubscription, type CommittedEvent, type LiveEvents } from '@eventloom/protocol';
import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type { CommittedJson, EventStore, HeadChange } from '../store/event-store.ts';
import { chunkByBytes } from './chunk-by-bytes.ts';
import { EventFlow } from './event-flow.ts';
import { Broadcast } from './frame-fanout.ts';
import type { HubMetrics } from './hub-metrics.ts';
import type { HubAction, HubLimits } from './hub-options.ts';
import { JsonText } from './json-text.ts';

/** What the live feed needs of a session that said `hello`. */
export interface FeedSession {
  readonly socket: Socket;
  readonly subscriptions: readonly string[];
  /** The position up to which this socket was sent everything it subscribes to (`prev`). */
  sentUpTo: number;
  allowed(action: HubAction, stream: string): boolean | Promise<boolean>;
  isSlowConsumer(): boolean;
  dropSlowConsumer(): void;
  /** Told before a live message is written to the socket: a session may hold it for an ack. */
  readonly answerHold?: { beforeLiveMessage(): void };
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
 * Consecutive committed events in position order, as objects (read back from the store) or as
 * their JSON text (handed over by a store that keeps text: sent on without a parse or a
 * serialisation, see {@link JsonText}).
 */
type Run =
  | { readonly text: false; readonly events: readonly CommittedEvent[] }
  | { readonly text: true; readonly events: readonly CommittedJson[] };

/** What the feed selects an event by: both forms of a {@link Run} have it. */
interface Selectable {
  readonly position: number;
  readonly stream: string;
}

/**
 * Follows the store's head (`EventStore.watchHead`: this node's commits and, on a shared database,
 * every other node's) and sends each ready session of this node (`io.local`: never through an
 * adapter) the committed events it subscribes to, in position order, with `prev`. Events the
 * store handed over with a change that follows on from the feed's target are sent as they are
 * (as their JSON text when the store gives it); anything else is read back from the store. Only
 * one delivery runs at a time and `cursor` only moves forward, so no session ever sees position
 * n+1 before n.
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
  #given: { from: number; run: Run }[] = [];
  #running: Promise<void> | undefined;
  /** True while {@link #catchUp} runs: a change told meanwhile only moves the target it heads for. */
  #catching = false;
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
    // a text per event (and a parse, as objects), and a feed nobody listens to skips them.
    if (change.from === this.#target && anyoneListens(this.#ctx())) {
      const run = handedOver(change);
      const events = run?.events ?? [];
      if (events.length === change.head - change.from && events[0]?.position === change.from + 1) {
        this.#given.push({ from: change.from, run: run! });
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
    if (this.#running !== undefined || this.#retry !== undefined || this.#closed || this.#catching) return;
    // What was handed over goes out here and now; only a read (or a pending decision) waits.
    let waiting: Promise<boolean> | undefined;
    this.#catching = true;
    try {
      waiting = this.#catchUp();
    } catch (error) {
      // Inside the store's head watchers: nothing above would say it. The failed page stays lost
      // to the sessions (the cursor is past it); the rest up to the target goes out on the retry.
      this.#failed(error);
    } finally {
      this.#catching = false;
    }
    if (waiting === undefined) return;
    this.#running = waiting.then(
      (failed) => {
        this.#running = undefined;
        // The store could not be read: try again later, not in a tight loop.
        if (failed) this.#retryLater();
        else if (this.#cursor < this.#target) this.advanceTo(this.#target);
      },
      (error: unknown) => {
        this.#running = undefined;
        this.#failed(error);
      },
    );
  }

  /** A delivery threw: says so and catches up with the rest later, as after a failed read. */
  #failed(error: unknown): void {
    this.#ctx().logger.error(
      { err: error, cursor: this.#cursor, target: this.#target },
      'live feed: delivering committed events failed; will go on from the cursor',
    );
    this.#retryLater();
  }

  #retryLater(): void {
    if (this.#closed || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.advanceTo(this.#target);
    }, RETRY_MS);
    this.#retry.unref?.();
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

  /**
   * Catches up with the target synchronously while the store handed over the events it needs and
   * their delivery needs no pending decision: no promise nor microtask between a commit and its
   * broadcast. Else, from there on, {@link #run}'s promise.
   */
  #catchUp(): Promise<boolean> | undefined {
    const ctx = this.#ctx();
    while (this.#cursor < this.#target && !this.#closed) {
      if (!anyoneListens(ctx)) {
        this.#skip();
        return undefined;
      }
      const page = this.#takeGiven(ctx);
      // No page at the cursor, or one that would not move it (as {@link #run} guards): read back.
      if (page === undefined || page.until <= this.#cursor) return this.#run();
      const from = this.#cursor;
      this.#cursor = page.until;
      const pending = deliverRun(ctx, page.run, undefined);
      if (pending !== undefined) {
        return pending.then(() => {
          this.flow.broadcast(from, page.until);
          return this.#run();
        });
      }
      this.flow.broadcast(from, page.until);
    }
    return undefined;
  }

  /** Nobody could receive the events up to the target: skips reading them back. Whoever subscribes later starts after them. */
  #skip(): void {
    this.#cursor = this.#target;
    this.#given = [];
    this.flow.skipped(this.#cursor);
  }

  /** The page of handed-over events at the cursor (at most a page, as a read would give it); the rest stays. */
  #takeGiven(ctx: FeedContext): { run: Run; until: number } | undefined {
    while (this.#given.length > 0 && this.#given[0]!.from < this.#cursor) this.#given.shift();
    const given = this.#given[0];
    if (given === undefined || given.from !== this.#cursor) return undefined;
    const { run } = given;
    const take = Math.min(run.events.length, ctx.limits.maxBatchSize);
    if (take === run.events.length) this.#given.shift();
    else this.#given[0] = { from: given.from + take, run: sliceRun(run, take) };
    return { run: take === run.events.length ? run : sliceRun(run, 0, take), until: given.from + take };
  }

  /** Catches up with the target; true when reading the store failed. */
  async #run(): Promise<boolean> {
    const ctx = this.#ctx();
    while (this.#cursor < this.#target && !this.#closed) {
      if (!anyoneListens(ctx)) {
        this.#skip();
        return false;
      }
      let page: { run: Run; until: number; jsonChars?: number | undefined } | undefined =
        this.#takeGiven(ctx);
      if (page === undefined) {
        try {
          const read = await ctx.store.read({
            from: this.#cursor,
            limit: ctx.limits.maxBatchSize,
            maxJsonChars: ctx.limits.maxMessageBytes,
          });
          page = { run: { text: false, events: read.events }, until: read.until, jsonChars: read.jsonChars };
        } catch (error) {
          ctx.logger.error({ err: error }, 'live feed: reading committed events failed; will retry');
          return true;
        }
      }
      if (page.until <= this.#cursor) return true;
      const from = this.#cursor;
      this.#cursor = page.until;
      if (page.until > this.#target) this.#target = page.until;
      const pending = deliverRun(ctx, page.run, page.jsonChars);
      if (pending !== undefined) await pending;
      this.flow.broadcast(from, page.until);
    }
    return false;
  }
}

function anyoneListens(ctx: FeedContext): boolean {
  for (const session of ctx.ready) if (session.subscriptions.length > 0) return true;
  return false;
}

/** The events a change hands over: as text when the store gives it, else as objects. */
function handedOver(change: HeadChange): Run | undefined {
  if (change.json !== undefined) return { text: true, events: change.json() };
  if (change.events !== undefined) return { text: false, events: change.events() };
  return undefined;
}

function sliceRun(run: Run, start: number, end?: number): Run {
  return run.text
    ? { text: true, events: run.events.slice(start, end) }
    : { text: false, events: run.events.slice(start, end) };
}

/** Sends a run in messages of at most `maxMessageBytes`; synchronous unless a decision is pending. */
function deliverRun(ctx: FeedContext, run: Run, jsonChars: number | undefined): Promise<void> | undefined {
  const max = ctx.limits.maxMessageBytes;
  if (!run.text) return deliverChunks(ctx, chunkByBytes(run.events, max, jsonChars), objectMessage);
  let chars = 0;
  for (const event of run.events) chars += event.json.length;
  return deliverChunks(ctx, chunkByBytes(run.events, max, chars, textBytes), textMessage);
}

function deliverChunks<T extends Selectable>(
  ctx: FeedContext,
  chunks: readonly T[][],
  message: (events: T[], prev: number) => JsonText,
): Promise<void> | undefined {
  for (let i = 0; i < chunks.length; i++) {
    const pending = deliver(ctx, chunks[i]!, message);
    if (pending !== undefined) return pending.then(() => deliverChunks(ctx, chunks.slice(i + 1), message));
  }
  return undefined;
}

/** The message of events read back as objects: its JSON, what Socket.IO's encoder would write of it. */
function objectMessage(events: CommittedEvent[], prev: number): JsonText {
  const message: LiveEvents = { events, prev };
  return new JsonText(JSON.stringify(message));
}

/** What {@link objectMessage} of the parsed events serialises to, byte for byte, made of their texts. */
function textMessage(events: CommittedJson[], prev: number): JsonText {
  let json = events[0]!.json;
  for (let i = 1; i < events.length; i++) json += `,${events[i]!.json}`;
  return new JsonText(`{"events":[${json}],"prev":${prev}}`);
}

function textBytes(event: CommittedJson): number {
  return Buffer.byteLength(event.json);
}

/**
 * The messages of one delivery, each sent to every socket that gets the same events after the same
 * `prev`: encoded once, when its first socket is offered, and written to each socket as it is
 * offered. Keyed by `prev` alone when the message holds all the events (a number: no key string
 * made per session), else by `prev` and the positions it holds. Most deliveries make one message:
 * it is held without a map.
 */
class Outbox<T> {
  readonly #message: (events: T[], prev: number) => JsonText;
  #firstKey: number | string | undefined;
  #first: Broadcast | undefined;
  #more: Map<number | string, Broadcast> | undefined;

  constructor(message: (events: T[], prev: number) => JsonText) {
    this.#message = message;
  }

  /** Sends `socket` the message of `events` after `prev`, whose key is `key`. */
  send(socket: Socket, key: number | string, events: T[], prev: number): void {
    let broadcast: Broadcast | undefined;
    if (this.#first === undefined) {
      this.#firstKey = key;
      broadcast = this.#first = new Broadcast(MessageName.events, this.#message(events, prev));
    } else if (key === this.#firstKey) broadcast = this.#first;
    else {
      this.#more ??= new Map();
      broadcast = this.#more.get(key);
      if (broadcast === undefined) {
        broadcast = new Broadcast(MessageName.events, this.#message(events, prev));
        this.#more.set(key, broadcast);
      }
    }
    broadcast.to(socket);
  }

  /**
   * Sends each message to the sockets it could not be written to straight away, through Socket.IO;
   * never through an adapter (Redis): every node reads the events from the log.
   */
  end(io: Server): void {
    this.#first?.end(io);
    if (this.#more !== undefined) for (const broadcast of this.#more.values()) broadcast.end(io);
  }
}

/**
 * Sends `events` (consecutive, in position order) to every ready session that should see them,
 * each message built by `message`, each session's as soon as it is selected. Synchronous unless an
 * authorization decision is pending: no microtask per session between the commit and the broadcast.
 */
function deliver<T extends Selectable>(
  ctx: FeedContext,
  events: T[],
  message: (events: T[], prev: number) => JsonText,
): Promise<void> | undefined {
  if (events.length === 0 || ctx.ready.size === 0) return undefined;
  const outbox = new Outbox(message);
  const sessions = [...ctx.ready];
  let handedOn = false;
  // Even when a write throws: a session offered before it (its `sentUpTo` moved) still gets the message.
  try {
    for (let i = 0; i < sessions.length; i++) {
      const session = sessions[i]!;
      const selected = select(session, events);
      if (selected instanceof Promise) {
        handedOn = true;
        return finishDeliver(ctx, events, outbox, sessions, i, selected);
      }
      offer(ctx, outbox, session, events, selected);
    }
  } finally {
    if (!handedOn) outbox.end(ctx.io);
  }
  return undefined;
}

/** {@link deliver} from session `at` on, once its pending selection is known. */
async function finishDeliver<T extends Selectable>(
  ctx: FeedContext,
  events: T[],
  outbox: Outbox<T>,
  sessions: readonly FeedSession[],
  at: number,
  pending: Promise<T[]>,
): Promise<void> {
  try {
    offer(ctx, outbox, sessions[at]!, events, await pending);
    for (let i = at + 1; i < sessions.length; i++) {
      const selected = select(sessions[i]!, events);
      offer(ctx, outbox, sessions[i]!, events, selected instanceof Promise ? await selected : selected);
    }
  } finally {
    outbox.end(ctx.io);
  }
}

/** Sends a session its selection, the message encoded once for every session that gets the same. */
function offer<T extends Selectable>(
  ctx: FeedContext,
  outbox: Outbox<T>,
  session: FeedSession,
  events: T[],
  selected: T[],
): void {
  if (selected.length === 0 || !ctx.ready.has(session)) return;
  if (session.isSlowConsumer()) {
    session.dropSlowConsumer();
    return;
  }
  session.answerHold?.beforeLiveMessage();
  const prev = session.sentUpTo;
  session.sentUpTo = selected[selected.length - 1]!.position;
  const key = selected === events ? prev : `${prev}|${selected.map((e) => e.position).join(',')}`;
  outbox.send(session.socket, key, selected, prev);
}

/**
 * The events a session should get: past its `sentUpTo`, subscribed, and allowed. Same array when
 * all are. A promise only when an authorization decision is pending.
 */
function select<T extends Selectable>(session: FeedSession, events: T[]): T[] | Promise<T[]> {
  let selected: T[] | undefined;
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

async function selectAsync<T extends Selectable>(
  session: FeedSession,
  events: T[],
  from: number,
  selected: T[] | undefined,
  decision: Promise<boolean>,
): Promise<T[]> {
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
