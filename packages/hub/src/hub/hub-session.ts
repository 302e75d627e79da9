import {
  ErrorCode,
  MIN_PROTOCOL_VERSION,
  MessageName,
  PROTOCOL_VERSION,
  UUID_V7_PATTERN,
  decodeHello,
  decodeNotify,
  decodePull,
  decodePush,
  decodeSubscribe,
  matchesSubscription,
  type CommittedEvent,
  type DecodedPushEvent,
  type EventEnvelope,
  type EventMeta,
  type HubError as HubErrorMessage,
  type Notify,
  type Principal,
  type PullResult,
  type PushResult,
  type RejectionCode,
  type Result,
} from '@eventloom/protocol';
import type { Socket } from 'socket.io';
import type { StoreAppend, StoreAppendResult } from '../store/event-store.ts';
import { chunkByBytes } from './chunk-by-bytes.ts';
import type { HubContext, ReadySession } from './hub-context.ts';
import type { HubAction, HubRegistry } from './hub-options.ts';
import type { PeerPair } from './peer-limits.ts';
import { answerQuery } from './hub-queries.ts';
import { relayNotify } from './notify-relay.ts';
import { outgoingBytes } from './outgoing-buffer.ts';
import { TokenBucket } from './token-bucket.ts';

type Ack = (answer: unknown) => void;

/** Refusals in a row after which a socket that ignores `rate-limited` is disconnected. */
const MAX_REFUSALS_IN_A_ROW = 100;
/** Authorization decisions cached per connection, at most. */
const MAX_CACHED_DECISIONS = 10_000;
/** A principal holds at most this share of the hub's memory cap (pulls and pushes in flight). */
const PRINCIPAL_MEMORY_SHARE = 1 / 4;
/** Heap a decoded push takes, per byte of its events' JSON (the frame's objects and the decoded copy). */
const PUSH_HEAP_FACTOR = 3;
/** Heap a pull takes, per byte of its page budget (the text on the store's side, the parsed events, the ack). */
const PULL_HEAP_FACTOR = 4;

/** Who a connection is and what it shares with the other connections of its principal and address. */
export interface SessionIdentity {
  readonly principal: Principal;
  /** `principalKey(principal)`: what its client ids are bound to. */
  readonly key: string;
  /** The verified token's claims (empty without a token). */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly expiresAt: number | undefined;
  readonly peers: PeerPair;
}

/**
 * One authenticated connection: its principal, its client id once it said `hello`, its
 * subscriptions, and what it was last sent. Answers every message with an ack or a coded error;
 * nothing it receives can throw out of it.
 */
export class HubSession implements ReadySession {
  readonly socket: Socket;
  readonly principal: Principal;
  /** The client id from `hello`; undefined until then. */
  clientId: string | undefined;
  subscriptions: readonly string[] = [];
  /** The position up to which this socket was sent everything it subscribes to (`prev`). */
  sentUpTo = 0;
  readonly #ctx: HubContext;
  readonly #identity: SessionIdentity;
  readonly #bucket: TokenBucket;
  /** True once the client id is bound to this principal in the store (at its first push). */
  #bound = false;
  #pulls = 0;
  #decisions: Map<string, boolean | Promise<boolean>> | undefined;
  #inFlight = 0;
  #refusals = 0;
  #helloStarted = false;
  /** The protocol the client spoke at `hello`. */
  #protocol = 0;
  #pushChain: Promise<unknown> = Promise.resolve();
  #expiry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(ctx: HubContext, socket: Socket, identity: SessionIdentity) {
    this.#ctx = ctx;
    this.socket = socket;
    this.#identity = identity;
    this.principal = identity.principal;
    const { expiresAt } = identity;
    this.#bucket = new TokenBucket({
      capacity: ctx.limits.rateBurst,
      refillPerSecond: ctx.limits.ratePerSecond,
    });
    if (expiresAt !== undefined) this.#expireAt(expiresAt);
    socket.onAny((name: unknown, ...args: unknown[]) => this.#receive(name, args));
    socket.once('disconnect', () => this.#onDisconnect());
  }

  /** True once `hello` was answered with `welcome`. */
  get ready(): boolean {
    return this.clientId !== undefined;
  }

  /** Whether this connection's principal may do `action` to `stream` (cached per connection). */
  allowed(action: HubAction, stream: string, kind?: string): boolean | Promise<boolean> {
    const authorize = this.#ctx.authorize;
    if (authorize === undefined) return true;
    const key = `${action}\u0000${kind ?? ''}\u0000${stream}`;
    this.#decisions ??= new Map();
    const cached = this.#decisions.get(key);
    if (cached !== undefined) return cached;
    let decision: boolean | Promise<boolean>;
    try {
      const context = { claims: this.#identity.claims, ...(kind === undefined ? {} : { kind }) };
      const answer = authorize(this.principal, action, stream, context);
      decision =
        typeof answer === 'boolean'
          ? answer
          : Promise.resolve(answer).then(
              (allowed) => {
                this.#decisions?.set(key, allowed === true);
                return allowed === true;
              },
              (error: unknown) => {
                this.#ctx.logger.warn({ err: error, action, stream }, 'authorize threw: denied');
                this.#decisions?.delete(key);
                return false;
              },
            );
    } catch (error) {
      this.#ctx.logger.warn({ err: error, action, stream }, 'authorize threw: denied');
      return false;
    }
    if (this.#decisions.size >= MAX_CACHED_DECISIONS) this.#decisions.clear();
    this.#decisions.set(key, decision);
    return decision;
  }

  /** True when more is queued for this socket than the limit allows. */
  isSlowConsumer(): boolean {
    const cap = this.#ctx.limits.maxOutgoingBytes;
    return outgoingBytes(this.socket, cap + 1) > cap;
  }

  /** Drops a slow consumer: it will reconnect and catch up by pull. */
  dropSlowConsumer(): void {
    this.#ctx.logger.warn({ clientId: this.clientId, socket: this.socket.id }, 'slow consumer dropped');
    this.disconnect(ErrorCode.slowConsumer, 'outgoing buffer full: reconnect and catch up by pull', true);
    // It reads nothing, so it would not answer a close handshake either: cut it and free its buffer.
    const transport = (this.socket.conn as unknown as { transport?: { socket?: { terminate?: () => void } } })
      .transport;
    transport?.socket?.terminate?.();
  }

  /** Sends `hub-error` and closes the connection. */
  disconnect(code: ErrorCode, message: string, retryable: boolean): void {
    if (this.#closed) return;
    this.#ctx.metrics.rejections.inc({ code });
    const error: HubErrorMessage = { code, message, retryable };
    this.socket.emit(MessageName.hubError, error);
    this.#onDisconnect();
    this.socket.disconnect(true);
  }

  /** Delivers a notification if this session should see it; false when it did not. */
  async deliverNotify(message: Notify): Promise<boolean> {
    if (!this.ready || this.#closed) return false;
    if (
      message.to === undefined
        ? !matchesSubscription(message.stream, this.subscriptions)
        : message.to !== this.clientId
    ) {
      return false;
    }
    if (!(await this.allowed('subscribe', message.stream))) return false;
    if (this.isSlowConsumer()) {
      this.dropSlowConsumer();
      return false;
    }
    this.socket.emit(MessageName.notify, message);
    return true;
  }

  #expireAt(expiresAt: number): void {
    // setTimeout holds at most ~24.8 days; re-arm for longer tokens.
    const delay = Math.min(expiresAt - Date.now(), 2 ** 31 - 1);
    this.#expiry = setTimeout(
      () => {
        if (Date.now() >= expiresAt) this.disconnect(ErrorCode.unauthenticated, 'token expired', true);
        else this.#expireAt(expiresAt);
      },
      Math.max(0, delay),
    );
    this.#expiry.unref?.();
  }

  #onDisconnect(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#expiry);
    this.#ctx.ready.delete(this);
    this.#ctx.crossNode?.untrack(this);
    this.#decisions = undefined;
  }

  #receive(name: unknown, args: unknown[]): void {
    const last = args[args.length - 1];
    const ack = typeof last === 'function' ? (args.pop() as Ack) : undefined;
    const cost = 1 + pushCost(name, args[0]);
    const { peers } = this.#identity;
    // The socket's own rate, then what its principal and its address share with their other sockets.
    if (!this.#bucket.take(cost) || !peers.principal.rate.take(cost) || !peers.address.rate.take(cost)) {
      this.#fail(ack, ErrorCode.rateLimited, 'too many messages: slow down', true);
      if (++this.#refusals > MAX_REFUSALS_IN_A_ROW) {
        this.disconnect(ErrorCode.rateLimited, 'kept sending past the rate limit', true);
      }
      return;
    }
    this.#refusals = 0;
    if (name === MessageName.notify) {
      if (args.length !== 1 || ack !== undefined)
        this.#fail(ack, ErrorCode.invalid, 'notify takes one argument and no ack');
      else this.#guard(this.#notify(args[0]), undefined);
      return;
    }
    if (!isRequest(name)) {
      this.#fail(ack, ErrorCode.invalid, `unknown message: ${describeName(name)}`, false);
      return;
    }
    if (ack === undefined || args.length !== 1) {
      this.#fail(ack, ErrorCode.invalid, `${name} takes one argument and an ack`, false);
      return;
    }
    if (this.#inFlight >= this.#ctx.limits.maxInFlightPerSocket) {
      this.#fail(ack, ErrorCode.rateLimited, 'too many requests in flight: wait for acks', true);
      return;
    }
    this.#inFlight++;
    const payload = args[0];
    const work =
      name === MessageName.hello
        ? this.#hello(payload)
        : name === MessageName.push
          ? this.#push(payload)
          : name === MessageName.pull
            ? this.#pull(payload)
            : this.#subscribe(payload);
    this.#guard(work, ack);
  }

  /** Answers a request with what it resolved to, or `internal` if it threw; never throws. */
  #guard(work: Promise<unknown>, ack: Ack | undefined): void {
    work.then(
      (answer) => {
        if (ack !== undefined) {
          this.#inFlight--;
          this.#answer(ack, answer);
        }
      },
      (error: unknown) => {
        this.#ctx.logger.error({ err: error, socket: this.socket.id }, 'request failed inside the hub');
        if (ack !== undefined) this.#inFlight--;
        this.#fail(
          ack,
          ErrorCode.internal,
          'the hub failed to handle this message; nothing was half-written',
          true,
        );
      },
    );
  }

  #answer(ack: Ack, answer: unknown): void {
    if (this.#closed) return;
    if (this.isSlowConsumer()) {
      this.dropSlowConsumer();
      return;
    }
    ack(answer);
  }

  /** Answers a request with `{ error }`, or a plain message with `hub-error`. */
  #fail(ack: Ack | undefined, code: ErrorCode, message: string, retryable = false): void {
    this.#ctx.metrics.rejections.inc({ code });
    const error: HubErrorMessage = { code, message: message.slice(0, 1024), retryable };
    if (ack !== undefined) this.#answer(ack, { error });
    else if (!this.#closed && !this.isSlowConsumer()) this.socket.emit(MessageName.hubError, error);
  }

  #error(code: ErrorCode, message: string, retryable = false): { error: HubErrorMessage } {
    this.#ctx.metrics.rejections.inc({ code });
    return { error: { code, message: message.slice(0, 1024), retryable } };
  }

  /**
   * Binds the client id to this principal at its first push: counted against the new client ids
   * its principal and its address may bind; refused when another principal took the id meanwhile.
   */
  async #bind(): Promise<{ error: HubErrorMessage } | undefined> {
    const clientId = this.clientId!;
    const { store } = this.#ctx;
    const { key, peers } = this.#identity;
    const record = await store.client(clientId);
    if (record.principal === undefined) {
      if (!peers.principal.newClientIds.take(1) || !peers.address.newClientIds.take(1)) {
        return this.#error(ErrorCode.rateLimited, 'too many new client ids: reuse one, or retry later', true);
      }
    }
    if (!(await store.bindClient(clientId, key))) return this.#otherPrincipal(clientId);
    this.#bound = true;
    return undefined;
  }

  #otherPrincipal(clientId: string): { error: HubErrorMessage } {
    this.#ctx.logger.warn({ clientId, sub: this.principal.sub }, 'client id of another principal refused');
    return this.#error(ErrorCode.unauthorized, 'this client id belongs to another principal');
  }

  /** Reserves hub memory for this socket's work, within its principal's share. */
  #reserve(bytes: number): boolean {
    const peer = this.#identity.peers.principal;
    const { memory } = this.#ctx;
    if (peer.memory + bytes > memory.limit * PRINCIPAL_MEMORY_SHARE) return false;
    if (!memory.tryReserve(bytes)) return false;
    peer.memory += bytes;
    return true;
  }

  #release(bytes: number): void {
    this.#identity.peers.principal.memory -= bytes;
    this.#ctx.memory.release(bytes);
  }

  #busy(): { error: HubErrorMessage } {
    return this.#error(
      ErrorCode.rateLimited,
      'the hub holds too much for its peers right now: retry shortly',
      true,
    );
  }

  #notReady(): { error: HubErrorMessage } | undefined {
    if (this.#ctx.closing()) return this.#error(ErrorCode.unavailable, 'the hub is shutting down', true);
    if (!this.ready) return this.#error(ErrorCode.notReady, 'say hello first', true);
    return undefined;
  }

  async #hello(payload: unknown): Promise<unknown> {
    if (this.#ctx.closing()) return this.#error(ErrorCode.unavailable, 'the hub is shutting down', true);
    if (this.#helloStarted) return this.#error(ErrorCode.invalid, 'hello was already received');
    const decoded = decodeHello(payload);
    if (!decoded.ok) return this.#error(decoded.error.code, decoded.error.message);
    const hello = decoded.value;
    if (hello.protocol < MIN_PROTOCOL_VERSION) {
      const message = `protocol ${hello.protocol} is older than ${MIN_PROTOCOL_VERSION}, the oldest this hub serves`;
      return this.#error(ErrorCode.protocolTooOld, message);
    }
    if (hello.protocol > PROTOCOL_VERSION) {
      const message = `protocol ${hello.protocol} is newer than ${PROTOCOL_VERSION}, the newest this hub knows`;
      return this.#error(ErrorCode.protocolTooNew, message);
    }
    this.#helloStarted = true;
    this.#protocol = hello.protocol;
    let record;
    let subscriptions;
    try {
      // Nothing is written here: the client id is bound at its first push, so that connections
      // that never push (churn) leave no trace in the store.
      record = await this.#ctx.store.client(hello.clientId);
      if (record.principal !== undefined && record.principal !== this.#identity.key) {
        this.#helloStarted = false;
        return this.#otherPrincipal(hello.clientId);
      }
      this.#bound = record.principal !== undefined;
      subscriptions = await this.#allowedSubscriptions(hello.subscriptions);
      // On a cluster, listening on its routes before the welcome: what is notified after it arrives.
      await this.#ctx.crossNode?.track(this, hello.clientId, subscriptions);
    } catch (error) {
      this.#helloStarted = false;
      throw error;
    }
    if (this.#closed) {
      this.#ctx.crossNode?.untrack(this);
      return this.#error(ErrorCode.unavailable, 'disconnected');
    }
    const fingerprint = this.#ctx.fingerprint;
    if (fingerprint !== undefined && hello.schemaFingerprint !== fingerprint) {
      this.#ctx.logger.warn(
        { clientId: hello.clientId, client: hello.schemaFingerprint, hub: fingerprint },
        "client schema fingerprint differs from the hub's: its events of unknown types or versions wait on the device, those of another shape are refused",
      );
    }
    // From here on synchronous: the session joins the live feed at exactly the head it is told.
    this.clientId = hello.clientId;
    this.subscriptions = subscriptions;
    this.sentUpTo = this.#ctx.feed.cursor;
    this.#ctx.restore.hello(hello.clientId, hello.lastPosition, this.sentUpTo);
    this.#ctx.ready.add(this);
    return {
      protocol: PROTOCOL_VERSION,
      minProtocol: MIN_PROTOCOL_VERSION,
      hubId: this.#ctx.hubId,
      head: this.sentUpTo,
      lastClientSeq: record.lastClientSeq,
      ...(hello.protocol >= 2 ? { schemaFingerprint: fingerprint ?? null } : {}),
    };
  }

  async #subscribe(payload: unknown): Promise<unknown> {
    const notReady = this.#notReady();
    if (notReady !== undefined) return notReady;
    const decoded = decodeSubscribe(payload);
    if (!decoded.ok) return this.#error(decoded.error.code, decoded.error.message);
    const subscriptions = await this.#allowedSubscriptions(decoded.value.subscriptions);
    this.subscriptions = subscriptions;
    if (!this.#closed) void this.#ctx.crossNode?.track(this, this.clientId!, subscriptions);
    this.sentUpTo = this.#ctx.feed.cursor;
    return { subscriptions: [...subscriptions], head: this.sentUpTo };
  }

  async #allowedSubscriptions(requested: readonly string[]): Promise<string[]> {
    const unique = [...new Set(requested)];
    const allowed: string[] = [];
    for (const s of unique) if (await this.allowed('subscribe', s)) allowed.push(s);
    return allowed;
  }

  /**
   * A pull, within the memory it may take: a few at a time per socket, none while the socket has
   * not read what it was sent, and each page's read budgeted and reserved from the hub's memory.
   */
  async #pull(payload: unknown): Promise<unknown> {
    const limits = this.#ctx.limits;
    if (this.#pulls >= limits.maxPullsPerSocket) {
      return this.#error(ErrorCode.rateLimited, 'too many pulls in flight: wait for their answers', true);
    }
    if (outgoingBytes(this.socket, limits.maxMessageBytes + 1) > limits.maxMessageBytes) {
      return this.#error(ErrorCode.rateLimited, 'read what you were sent before pulling more', true);
    }
    const reserve = PULL_HEAP_FACTOR * limits.maxMessageBytes;
    if (!this.#reserve(reserve)) return this.#busy();
    this.#pulls++;
    try {
      return await this.#pullPage(payload);
    } finally {
      this.#pulls--;
      this.#release(reserve);
    }
  }

  async #pullPage(payload: unknown): Promise<unknown> {
    const started = performance.now();
    const notReady = this.#notReady();
    if (notReady !== undefined) return notReady;
    const decoded = decodePull(payload);
    if (!decoded.ok) return this.#error(decoded.error.code, decoded.error.message);
    const { from, limit, streams } = decoded.value;
    if (streams !== undefined) {
      for (const s of streams) {
        if (!s.endsWith('*') && !(await this.allowed('pull', s))) {
          return this.#error(ErrorCode.unauthorized, `may not pull ${s.slice(0, 256)}`);
        }
      }
    }
    const filter = streams ?? this.subscriptions;
    if (filter.length === 0 || this.subscriptions.length === 0) {
      const head = await this.#ctx.store.head();
      return { events: [], head, until: head, more: false } satisfies PullResult;
    }
    // The store stops at one message's worth of JSON: a page is cut to one message anyway.
    const maxJsonChars = this.#ctx.limits.maxMessageBytes;
    const page = await this.#ctx.store.read({ from, limit, streams: filter, maxJsonChars });
    let events: CommittedEvent[] = [];
    for (const event of page.events) {
      if (streams !== undefined && !matchesSubscription(event.stream, this.subscriptions)) continue;
      // Await only a decision still pending: a thousand awaits of `true` hold the loop up.
      const allowed = this.allowed('pull', event.stream);
      if (allowed === true || (allowed !== false && (await allowed))) events.push(event);
    }
    let until = page.until;
    // The page's texts bound any subset of it.
    const chunks = chunkByBytes(events, this.#ctx.limits.maxMessageBytes, page.jsonChars);
    if (chunks.length > 1) {
      events = chunks[0]!;
      until = events[events.length - 1]!.position;
    }
    this.#ctx.metrics.pullDuration.observe((performance.now() - started) / 1000);
    return { events, head: page.head, until, more: until < page.head } satisfies PullResult;
  }

  /**
   * Decodes a push and queues it. Not async itself: the payload and its decoded copy are let go
   * once the events are prepared, instead of living in a suspended frame until the commit.
   */
  #push(payload: unknown): Promise<unknown> {
    try {
      const started = performance.now();
      const notReady = this.#notReady();
      if (notReady !== undefined) return Promise.resolve(notReady);
      const decoded = decodePush(payload, this.#ctx.limits);
      if (!decoded.ok) return Promise.resolve(this.#error(decoded.error.code, decoded.error.message));
      // Held until the push is answered: events waiting in the sequencer, or held there for a gap.
      const reserve = PUSH_HEAP_FACTOR * pushBytes(decoded.value.events);
      if (!this.#reserve(reserve)) return Promise.resolve(this.#busy());
      // Prepare in arrival order, so pipelined pushes of one socket reach the sequencer in order.
      const prepared = this.#pushChain.then(() => this.#prepare(decoded.value.events, rawEvents(payload)));
      this.#pushChain = prepared.then(
        () => undefined,
        () => undefined,
      );
      const answered = this.#submit(prepared, started, decoded.value.repair);
      void answered.finally(() => this.#release(reserve)).catch(() => undefined);
      return answered;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #submit(prepared: Promise<Prepared | Refused>, started: number, repair: boolean): Promise<unknown> {
    const judged = await prepared;
    if ('refusal' in judged) return judged.refusal;
    const { results, items, slots } = judged;
    const stored = await this.#ctx.sequencer.submit(items);
    if (repair) {
      const committed = stored.filter((r) => r.status === 'ok').length;
      this.#ctx.restore.repaired(this.clientId ?? '', committed);
    }
    this.#ctx.feed.flow.committed(this.clientId, started, stored);
    for (let i = 0; i < slots.length; i++) results[slots[i]!] = toPushResult(stored[i]!);
    for (const r of results)
      if (r!.status === 'rejected') this.#ctx.metrics.rejections.inc({ code: r!.code });
    this.#logRefusals(results as PushResult[]);
    this.#ctx.metrics.pushDuration.observe((performance.now() - started) / 1000);
    return { results: results as PushResult[] };
  }

  /**
   * Refusals are logged at `warn` (lost `expectedVersion` races at `info`), one line per code and push, with the first refused event's
   * id and message (which names the fields): a developer whose events all bounce sees why.
   * Sequence gaps are the client's own flow control, not a refusal of the event: left out.
   */
  #logRefusals(results: readonly PushResult[]): void {
    let byCode: Map<string, Extract<PushResult, { status: 'rejected' }>[]> | undefined;
    for (const r of results) {
      if (r.status !== 'rejected' || r.code === ErrorCode.sequenceGap) continue;
      byCode ??= new Map();
      const list = byCode.get(r.code) ?? [];
      list.push(r);
      byCode.set(r.code, list);
    }
    if (byCode === undefined) return;
    for (const [code, refused] of byCode) {
      const first = refused[0]!;
      // A lost race on `expectedVersion` is the normal way of a guarded conflict: info, not warn.
      const level = code === ErrorCode.wrongExpectedVersion ? 'info' : 'warn';
      this.#ctx.logger[level](
        { clientId: this.clientId, code, count: refused.length, id: first.id, message: first.message },
        `${refused.length} pushed event${refused.length === 1 ? '' : 's'} refused (${code}): ${first.message}`,
      );
    }
  }

  /**
   * Judges each event before the store sees it: envelope and size (decoded already), client id,
   * registry, authorization; writes the principal into `meta`. Refusals that concern this
   * client's own sequence are recorded through the store so its `clientSeq` advances; those that
   * cannot be (unknown schema, unreadable event, someone else's client id) are answered directly.
   */
  async #prepare(events: readonly DecodedPushEvent[], raw: readonly unknown[]): Promise<Prepared | Refused> {
    if (!this.#bound) {
      const refusal = await this.#bind();
      if (refusal !== undefined) return { refusal };
    }
    const results = Array.from<PushResult | undefined>({ length: events.length });
    const items: StoreAppend[] = [];
    const slots: number[] = [];
    const clientId = this.clientId!;
    /** The lowest own seq refused without a record: nothing after it can be accepted yet. */
    let blockedAt = Infinity;
    const principal = this.principal;
    for (let i = 0; i < events.length; i++) {
      const decoded = events[i]!;
      if (!decoded.ok) {
        const own = ownSequence(decoded, raw[i], clientId);
        if (own !== undefined && own.seq < blockedAt) {
          items.push({
            event: own.envelope,
            rejection: { code: rejectionCode(decoded.error.code), message: decoded.error.message },
          });
          slots.push(i);
        } else {
          results[i] = rejected(decoded.id, rejectionCode(decoded.error.code), decoded.error.message);
          if (own !== undefined) blockedAt = Math.min(blockedAt, own.seq);
        }
        continue;
      }
      const event = decoded.value;
      if (event.clientId !== clientId) {
        results[i] = rejected(
          event.id,
          ErrorCode.unauthorized,
          `clientId ${event.clientId} is not this connection's (${clientId})`,
        );
        continue;
      }
      if (event.clientSeq > blockedAt) {
        results[i] = rejected(
          event.id,
          ErrorCode.sequenceGap,
          `an earlier event (clientSeq ${blockedAt}) was not accepted yet`,
        );
        continue;
      }
      const verdict = validate(this.#ctx.registry, event);
      // A client of protocol 4 holds such an event aside and sends it again later under a new
      // seq: its refusal is recorded and the events after it go on. Older clients wait on it.
      const heldAside =
        !verdict.ok && verdict.error.code === ErrorCode.unknownEventVersion && this.#protocol >= 4;
      if (!verdict.ok && verdict.error.code !== ErrorCode.invalid && !heldAside) {
        const code =
          verdict.error.code === ErrorCode.unknownEventVersion ? verdict.error.code : ErrorCode.internal;
        results[i] = rejected(event.id, code, verdict.error.message);
        blockedAt = Math.min(blockedAt, event.clientSeq);
        continue;
      }
      let rejection: StoreAppend['rejection'];
      if (!verdict.ok) {
        const code = heldAside ? ErrorCode.unknownEventVersion : ErrorCode.invalid;
        rejection = { code, message: verdict.error.message.slice(0, 1024) };
      } else {
        // Await only a decision still pending: a thousand awaits of `true` cost a push dearly.
        const allowed = this.allowed('push', event.stream, event.kind);
        if (allowed !== true && !(await allowed)) {
          rejection = { code: ErrorCode.unauthorized, message: `may not push to ${event.stream}` };
        }
      }
      // The decoded event is this push's own copy (the decoder built it): stamp it in place.
      event.meta.principal = principal;
      items.push(rejection === undefined ? { event } : { event, rejection });
      slots.push(i);
    }
    return { results, items, slots };
  }

  async #notify(payload: unknown): Promise<void> {
    const notReady = this.#notReady();
    if (notReady !== undefined) {
      if (!this.#closed) this.socket.emit(MessageName.hubError, notReady.error);
      return;
    }
    const decoded = decodeNotify(payload);
    if (!decoded.ok) {
      this.#fail(undefined, decoded.error.code, `notify: ${decoded.error.message}`);
      return;
    }
    const message = decoded.value;
    if (!(await this.allowed('notify', message.stream, message.kind))) {
      this.#fail(undefined, ErrorCode.unauthorized, `may not notify ${message.stream}`);
      return;
    }
    const meta = { ...message.meta, principal: this.principal } as EventMeta;
    const relayed: Notify = { ...message, from: this.clientId!, meta };
    const answered = relayed.kind === 'query' && answerQuery(this.#ctx, this, relayed);
    if (answered !== false && (await answered)) return;
    const shortfall = await relayNotify(this.#ctx, this, relayed);
    if (shortfall !== undefined) this.#fail(undefined, shortfall.code, shortfall.message, true);
  }
}

/** A push refused whole before its events were judged (its client id could not be bound). */
interface Refused {
  readonly refusal: { error: HubErrorMessage };
}

/** A push judged by the session: answers it gave itself, and the events for the sequencer. */
interface Prepared {
  /** One slot per pushed event; filled here for the events the session refused itself. */
  readonly results: (PushResult | undefined)[];
  readonly items: StoreAppend[];
  /** The index in `results` of each item. */
  readonly slots: number[];
}

/** The registry's verdict on an event's data; a registry that throws counts as `internal`. */
function validate(registry: HubRegistry | undefined, event: EventEnvelope): Result<unknown> {
  if (registry === undefined) return { ok: true, value: event };
  try {
    return registry.validate(event);
  } catch (error) {
    return {
      ok: false,
      error: { code: ErrorCode.internal, message: `the hub's registry failed: ${String(error)}`, path: '' },
    };
  }
}

function rejected(id: string, code: RejectionCode, message: string): PushResult {
  return { status: 'rejected', id: id.length <= 64 ? id : '', code, message: message.slice(0, 1024) };
}

function toPushResult(result: StoreAppendResult): PushResult {
  switch (result.status) {
    case 'ok':
      return { status: 'ok', id: result.id, position: result.position, streamVersion: result.streamVersion };
    case 'duplicate':
      return { status: 'duplicate', id: result.id, position: result.position };
    case 'rejected': {
      const r = rejected(result.id, result.code, result.message);
      return result.currentVersion === undefined || r.status !== 'rejected'
        ? r
        : { ...r, currentVersion: result.currentVersion };
    }
    case 'gap':
      return rejected(result.id, ErrorCode.sequenceGap, `clientSeq ahead of ${result.expectedSeq}`);
  }
}

function rejectionCode(code: ErrorCode): RejectionCode {
  return code === ErrorCode.tooLarge ? ErrorCode.tooLarge : ErrorCode.invalid;
}

/**
 * For an event that failed to decode but names this connection's client, a UUIDv7 id and a
 * clientSeq: a stand-in envelope under which its refusal is recorded, so the sequence moves on.
 */
function ownSequence(
  decoded: Extract<DecodedPushEvent, { ok: false }>,
  raw: unknown,
  clientId: string,
): { seq: number; envelope: EventEnvelope } | undefined {
  if (!UUID_V7_PATTERN.test(decoded.id)) return undefined;
  const seq = readOwn(raw, 'clientSeq');
  if (
    readOwn(raw, 'clientId') !== clientId ||
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    seq < 1
  ) {
    return undefined;
  }
  const envelope: EventEnvelope = {
    id: decoded.id,
    type: 'eventloom.unreadable',
    version: 1,
    kind: 'domain',
    stream: 'eventloom:unreadable',
    data: null,
    meta: {},
    clientId,
    clientSeq: seq,
    hlc: `000000000000000-0000000000-${clientId}`,
  };
  return { seq, envelope };
}

/** The raw `events` array of a push that decoded (so it is a plain array). */
function rawEvents(payload: unknown): readonly unknown[] {
  const events = readOwn(payload, 'events');
  return Array.isArray(events) ? events : [];
}

function readOwn(value: unknown, key: string): unknown {
  try {
    if (typeof value !== 'object' || value === null) return undefined;
    return Object.getOwnPropertyDescriptor(value, key)?.value;
  } catch {
    return undefined;
  }
}

/** The JSON bytes of a decoded push's events (those that decoded). */
function pushBytes(events: readonly DecodedPushEvent[]): number {
  let bytes = 0;
  for (const e of events) if (e.ok) bytes += e.bytes;
  return bytes;
}

function pushCost(name: unknown, payload: unknown): number {
  if (name !== MessageName.push) return 0;
  const events = readOwn(payload, 'events');
  return Array.isArray(events) ? Math.min(events.length, 1_000_000) : 0;
}

function isRequest(name: unknown): name is 'hello' | 'push' | 'pull' | 'subscribe' {
  return (
    name === MessageName.hello ||
    name === MessageName.push ||
    name === MessageName.pull ||
    name === MessageName.subscribe
  );
}

function describeName(name: unknown): string {
  return typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name;
}
