import { MessageName, type Notify } from '@eventloom/protocol';
import { toClientError, type ClientError } from '../client-error.ts';
import type { OutboxRow } from '../client-store.ts';
import { CatchUp, openCoverage } from './session-catch-up.ts';
import { sayHello } from './session-hello.ts';
import type { SessionHost, SessionOutcome } from './session-host.ts';
import { resolveToken, SessionLink } from './session-link.ts';
import { LiveFeed } from './session-live.ts';
import { SessionLog } from './session-log.ts';
import { PushPipeline } from './session-push.ts';

/**
 * One connection to the hub, from the handshake to its end, in stages: hello
 * ({@link sayHello}), catch-up ({@link CatchUp}: subscriptions, history of streams subscribed
 * later, pull pages), live events ({@link LiveFeed}), and the push pipeline ({@link PushPipeline});
 * all of them talk through one {@link SessionLink}. A new session is made for each connection:
 * nothing of Socket.IO's own buffering or reconnection is relied on (the outbox is the source of
 * truth). The stages' invariants are written where they live; the one they share, that every
 * confirmed event goes through the log's `inbound` queue, is {@link SessionLog}'s.
 */
export class SyncSession {
  readonly #host: SessionHost;
  readonly #link: SessionLink;
  readonly #log: SessionLog;
  readonly #live: LiveFeed;
  readonly #catchUp: CatchUp;
  readonly #push: PushPipeline;

  constructor(host: SessionHost) {
    this.#host = host;
    this.#link = new SessionLink(host.config);
    this.#log = new SessionLog(host);
    this.#live = new LiveFeed(host, this.#link, this.#log, {
      running: () => this.#catchUp.running(),
      again: () => this.#catchUp.again(),
      loop: () => this.#catchUp.loop(),
    });
    this.#catchUp = new CatchUp(host, this.#link, this.#log, this.#live);
    this.#push = new PushPipeline(host, this.#link);
  }

  /** Whether the session is still connected (or connecting). */
  get open(): boolean {
    return this.#link.open;
  }

  /** Connects and syncs until the connection ends; resolves with how it ended. */
  run(): Promise<SessionOutcome> {
    this.#start().catch((error: unknown) => this.#link.finish(toClientError(error)));
    return this.#link.outcome;
  }

  /** Ends the session (offline, lost the lead, closed): no error. */
  close(): void {
    this.#link.finish(undefined);
  }

  /** Sends a `notify` message (it has no ack); false unless connected and past `hello`. */
  sendNotify(message: Notify): boolean {
    if (!this.#link.ready || !this.#link.connected) return false;
    this.#link.emit(MessageName.notify, message);
    return true;
  }

  /**
   * New outbox rows, or rows free to go again: push what is there. `upTo`: the highest clientSeq
   * the view holds in the outbox (see `PushPipeline.kick`).
   */
  kickPush(upTo?: number): void {
    this.#push.kick(upTo);
  }

  /** An append's rows while their write is in flight: pushed now if they are next (`PushPipeline.ahead`). */
  pushAhead(rows: readonly OutboxRow[]): ((landed: boolean) => void) | undefined {
    return this.#push.ahead(rows);
  }

  /** Changes the subscriptions (the engine's desired ones) and catches up with them. */
  resubscribe(): Promise<void> {
    return this.#link.ready ? this.syncLoop() : Promise.resolve();
  }

  /**
   * Brings the log up to the hub's head: subscriptions first (with the history of streams added),
   * then pull pages until `more` is false, then the live messages held meanwhile. Runs one at a
   * time; a call while it runs makes it go round once more.
   */
  syncLoop(): Promise<void> {
    return this.#catchUp.loop();
  }

  async #start(): Promise<void> {
    const host = this.#host;
    const link = this.#link;
    const record = await host.port.readSyncRecord();
    this.#log.position = record.position;
    this.#log.head = record.position;
    const token = await resolveToken(host.config.token);
    if (!link.open) return;
    await link.connect(token, {
      live: (payload) => this.#live.received(payload),
      notify: (payload) => host.notified(payload),
      report: (error: ClientError) => host.report(error),
    });
    if (!link.open) return;

    const welcomed = await sayHello(host, link, this.#log, record);
    if (welcomed === undefined) return;
    this.#push.repairs(welcomed.repairUpTo, welcomed.hubRepairs);
    this.#push.holdsAside(welcomed.hubHoldsAside);
    this.#push.settles(welcomed.settleUpTo, welcomed.head);
    this.#catchUp.hubHolds(welcomed.subscriptions);
    await openCoverage(host, record.subscriptions, welcomed.subscriptions);
    this.#log.head = Math.max(this.#log.head, welcomed.head);
    link.welcomed();
    host.stateChanged('catching-up');
    host.positionChanged(this.#log.position, this.#log.head);
    this.kickPush();
    await this.syncLoop();
    if (!link.open) return;
    link.wentLive();
    host.stateChanged('live');
    host.caughtUp();
  }
}
