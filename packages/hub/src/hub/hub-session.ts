import {
  ErrorCode,
  MessageName,
  decodeHello,
  decodeNotify,
  decodePull,
  decodePush,
  decodeSubscribe,
  matchesSubscription,
  type DecodedPushEvent,
  type EventMeta,
  type HubError as HubErrorMessage,
  type Notify,
  type Principal,
} from '@eventloom/protocol';
import type { Socket } from 'socket.io';
import type { HubContext, ReadySession, SessionIdentity } from './hub-context.ts';
import type { HubAction } from './hub-options.ts';
import { answerQuery } from './hub-queries.ts';
import { relayNotify } from './notify-relay.ts';
import { AnswerHold } from './answer-hold.ts';
import { rememberAckIds, sendAck, type Ack } from './direct-ack.ts';
import { engineConnectionOf } from './engine-connection.ts';
import { whenExpired } from './session-expiry.ts';
import { outgoingBytes } from './outgoing-buffer.ts';
import { releasePrincipalMemory, reservePrincipalMemory } from './principal-memory.ts';
import { readPullPage } from './pull-page.ts';
import { PullGate } from './pull-gate.ts';
import { describeName, isRequest, pushBytes, pushCost, rawEvents } from './message-payload.ts';
import { judgePush, pushResults, type JudgedPush, type PushJudge } from './push-judge.ts';
import { noneFenced, reportRefusals } from './push-results.ts';
import { bindClientId } from './client-binding.ts';
import { protocolRefusal, warnOtherSchema, welcomeOf } from './hello-answers.ts';
import { ArrivalOrder } from './arrival-order.ts';
import { SessionDecisions } from './session-decisions.ts';
import { TokenBucket } from './token-bucket.ts';

/** Refusals in a row after which a socket that ignores `rate-limited` is disconnected. */
const MAX_REFUSALS_IN_A_ROW = 100;
/** Heap a decoded push takes, per byte of its events' JSON (the frame's objects and the decoded copy). */
const PUSH_HEAP_FACTOR = 3;

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
  readonly #pullGate: PullGate;
  readonly #decisions: SessionDecisions;
  #inFlight = 0;
  #refusals = 0;
  #helloStarted = false;
  /** Pushes are prepared in arrival order, so that pipelined pushes reach the sequencer in order. */
  readonly #pushOrder = new ArrivalOrder();
  /** What judging its pushes reads of this connection: made at `hello`, shared by its pushes. */
  #judge: PushJudge | undefined;
  #cancelExpiry: (() => void) | undefined;
  #closed = false;
  /** Holds the live messages written to it while a push is answered, to leave with its ack. */
  readonly answerHold: AnswerHold;

  constructor(ctx: HubContext, socket: Socket, identity: SessionIdentity) {
    this.#ctx = ctx;
    this.socket = socket;
    this.#identity = identity;
    this.principal = identity.principal;
    this.answerHold = new AnswerHold(socket);
    this.#pullGate = new PullGate(ctx, socket, identity.peers.principal);
    this.#decisions = new SessionDecisions(ctx.authorize, identity.principal, identity.claims, ctx.logger);
    const { expiresAt } = identity;
    this.#bucket = new TokenBucket({
      capacity: ctx.limits.rateBurst,
      refillPerSecond: ctx.limits.ratePerSecond,
    });
    if (expiresAt !== undefined) {
      this.#cancelExpiry = whenExpired(expiresAt, () =>
        this.disconnect(ErrorCode.unauthenticated, 'token expired', true),
      );
    }
    rememberAckIds(socket);
    socket.onAny((name: unknown, ...args: unknown[]) => this.#receive(name, args));
    socket.once('disconnect', () => this.#onDisconnect());
  }

  /** True once `hello` was answered with `welcome`. */
  get ready(): boolean {
    return this.clientId !== undefined;
  }

  /** Whether this connection's principal may do `action` to `stream` (cached per connection). */
  allowed(action: HubAction, stream: string, kind?: string): boolean | Promise<boolean> {
    return this.#decisions.allowed(action, stream, kind);
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
    engineConnectionOf(this.socket).transport.socket?.terminate?.();
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

  #onDisconnect(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelExpiry?.();
    this.#ctx.ready.delete(this);
    this.#ctx.crossNode?.untrack(this);
    this.#decisions.forget();
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

  /**
   * Acks a request with `answer` as its JSON text, in one frame written straight to the WebSocket
   * when it can be ({@link sendAck}). Then writes what was held.
   */
  #answer(ack: Ack, answer: unknown): void {
    if (this.#closed) return;
    if (this.isSlowConsumer()) {
      this.dropSlowConsumer();
      return;
    }
    sendAck(this.socket, ack, answer);
    this.answerHold.release();
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

  /** Binds the client id to this principal at its first push ({@link bindClientId}). */
  async #bind(): Promise<{ error: HubErrorMessage } | undefined> {
    const clientId = this.clientId!;
    const bound = await bindClientId(this.#ctx.store, this.#identity, clientId, this.#judge!.epoch);
    if (bound.status === 'new-ids-spent')
      return this.#error(ErrorCode.rateLimited, 'too many new client ids: reuse one, or retry later', true);
    if (bound.status === 'other-principal') return this.#otherPrincipal(clientId);
    if (bound.status === 'fenced') return this.#superseded();
    this.#judge!.epoch = bound.epoch;
    this.#bound = true;
    return undefined;
  }

  /** A later `hello` of this client id (any node) fenced this session: closed, the client says hello again. */
  #superseded(): { error: HubErrorMessage } {
    const code = this.#judge!.protocol >= 6 ? ErrorCode.superseded : ErrorCode.unavailable;
    const error = {
      code,
      message: 'a later hello of this client id took it over: say hello again',
      retryable: true,
    };
    this.disconnect(code, error.message, true);
    return { error };
  }

  #otherPrincipal(clientId: string): { error: HubErrorMessage } {
    this.#ctx.logger.warn({ clientId, sub: this.principal.sub }, 'client id of another principal refused');
    return this.#error(ErrorCode.unauthorized, 'this client id belongs to another principal');
  }

  /** Reserves hub memory for this socket's work, within its principal's share. */
  #reserve(bytes: number): boolean {
    return reservePrincipalMemory(this.#ctx.memory, this.#identity.peers.principal, bytes);
  }

  #release(bytes: number): void {
    releasePrincipalMemory(this.#ctx.memory, this.#identity.peers.principal, bytes);
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
    const refusal = protocolRefusal(hello.protocol);
    if (refusal !== undefined) return this.#error(refusal.code, refusal.message);
    this.#helloStarted = true;
    let record;
    let subscriptions;
    try {
      // The fence: from here on no older session of this client id stores anything, so the
      // welcome's lastClientSeq is final. A client never seen is claimed at its first push.
      record = await this.#ctx.store.claimClient(hello.clientId, this.#identity.key);
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
    warnOtherSchema(this.#ctx.logger, hello, fingerprint);
    // From here on synchronous: the session joins the live feed at exactly the head it is told.
    this.clientId = hello.clientId;
    this.#judge = {
      clientId: hello.clientId,
      principal: this.principal,
      protocol: hello.protocol,
      epoch: record.epoch,
      registry: this.#ctx.registry,
      allowed: (action, stream, kind) => this.allowed(action, stream, kind),
    };
    this.subscriptions = subscriptions;
    this.sentUpTo = this.#ctx.feed.cursor;
    this.#ctx.restore.hello(hello.clientId, hello.lastPosition, this.sentUpTo);
    this.#ctx.ready.add(this);
    return welcomeOf(hello, this.#ctx.hubId, this.sentUpTo, record.lastClientSeq, fingerprint);
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

  /** A pull, if its socket's {@link PullGate} lets it in now. */
  async #pull(payload: unknown): Promise<unknown> {
    const refusal = this.#pullGate.admit();
    if (refusal === 'busy') return this.#busy();
    if (refusal !== undefined) return this.#error(refusal.code, refusal.message, true);
    try {
      return await this.#pullPage(payload);
    } finally {
      this.#pullGate.done();
    }
  }

  async #pullPage(payload: unknown): Promise<unknown> {
    const started = performance.now();
    const notReady = this.#notReady();
    if (notReady !== undefined) return notReady;
    const decoded = decodePull(payload);
    if (!decoded.ok) return this.#error(decoded.error.code, decoded.error.message);
    const page = await readPullPage(this.#ctx, this, decoded.value, started);
    if ('denied' in page)
      return this.#error(ErrorCode.unauthorized, `may not pull ${page.denied.slice(0, 256)}`);
    return page;
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
      const { events, repair } = decoded.value;
      const raw = rawEvents(payload);
      const answered = this.#pushOrder.run(
        () => this.#prepare(events, raw),
        (judged) => this.#submit(judged, started, repair),
      );
      // Inline callbacks, not a named closure (from source, tsx names it: a defineProperty per push).
      answered.then(
        () => this.#release(reserve),
        () => this.#release(reserve),
      );
      return answered;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #submit(judged: Prepared, started: number, repair: boolean): Promise<unknown> {
    if ('refusal' in judged) return Promise.resolve(judged.refusal);
    this.answerHold.pushStarted();
    // No `finally` (a promise more per push): `submit` never rejects, and a hold lasts a turn at most.
    return this.#ctx.sequencer.submit(judged.items).then((stored) => {
      this.answerHold.pushSettled();
      if (!noneFenced(stored)) return this.#superseded();
      if (repair) {
        const committed = stored.filter((r) => r.status === 'ok').length;
        this.#ctx.restore.repaired(this.clientId ?? '', committed);
      }
      this.#ctx.feed.flow.committed(this.clientId, started, stored);
      const results = pushResults(judged, stored);
      reportRefusals(this.#ctx, this.clientId, results);
      this.#ctx.metrics.pushDuration.observe((performance.now() - started) / 1000);
      return { results };
    });
  }

  /** Binds the client id at its first push, then judges the events ({@link judgePush}); synchronous when it can be. */
  #prepare(events: readonly DecodedPushEvent[], raw: readonly unknown[]): Prepared | Promise<Prepared> {
    if (this.#bound) return judgePush(this.#judge!, events, raw);
    return this.#bind().then((refusal) =>
      refusal === undefined ? judgePush(this.#judge!, events, raw) : { refusal },
    );
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

/** A push ready for the sequencer, or refused whole. */
type Prepared = JudgedPush | Refused;
