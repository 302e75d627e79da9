import { decodeLiveEvents, type LiveEvents } from '@eventloom/protocol';
import { toClientError } from '../client-error.ts';
import { issueError } from './session-errors.ts';
import type { SessionHost } from './session-host.ts';
import type { SessionLink } from './session-link.ts';
import type { SessionLog } from './session-log.ts';

/** Live messages held while a pull runs, at most; beyond, they are dropped and pulled again. */
const MAX_HELD = 256;

/** What the live stage needs of catch-up (the {@link CatchUp} of the same session). */
export interface LiveCatchUp {
  /** Whether a catch-up round runs: live messages wait for it. */
  running(): boolean;
  /** Makes the round in progress go round once more (the messages held were dropped). */
  again(): void;
  /** Catches up (runs a round, or one more). */
  loop(): Promise<void>;
}

/**
 * The live stage of a session: `events` messages the hub sends as the log grows. Invariants: a
 * live message is stored only if its `prev` ≤ the log's position (then the log covers everything
 * up to its last event), otherwise the gap is pulled; while catch-up runs (or before `hello` is
 * answered), messages are held and applied after it, or dropped and pulled again past a gap or
 * beyond {@link MAX_HELD}.
 */
export class LiveFeed {
  readonly #host: SessionHost;
  readonly #link: SessionLink;
  readonly #log: SessionLog;
  readonly #catchUp: LiveCatchUp;
  readonly #held: LiveEvents[] = [];

  constructor(host: SessionHost, link: SessionLink, log: SessionLog, catchUp: LiveCatchUp) {
    this.#host = host;
    this.#link = link;
    this.#log = log;
    this.#catchUp = catchUp;
  }

  /** Whether live messages wait to be applied. */
  get holding(): boolean {
    return this.#held.length > 0;
  }

  /** An `events` message arrived. */
  received(payload: unknown): void {
    const decoded = decodeLiveEvents(payload);
    if (!decoded.ok) {
      this.#host.report(issueError(decoded.error, 'events'));
      this.#resync();
      return;
    }
    const message = decoded.value;
    this.#host.broadcast(message.events);
    this.#log.inbound
      .runNow(async () => {
        if (this.#catchUp.running() || !this.#link.ready) {
          if (this.#held.push(message) > MAX_HELD) {
            this.#held.length = 0;
            this.#catchUp.again();
          }
          return;
        }
        if (message.prev <= this.#log.position) {
          const last = message.events[message.events.length - 1]!.position;
          await this.#log.store(message.events, undefined, last);
        } else this.#resync();
      })
      .catch((error: unknown) => this.#link.finish(toClientError(error)));
  }

  /** Applies the oldest held live message, or, past a gap, drops them all and pulls again. */
  async applyHeld(): Promise<void> {
    await this.#log.inbound.run(async () => {
      const message = this.#held.shift();
      if (message === undefined) return;
      if (message.prev <= this.#log.position) {
        const last = message.events[message.events.length - 1]!.position;
        await this.#log.store(message.events, undefined, last);
      } else {
        this.#held.length = 0;
        this.#catchUp.again();
      }
    });
  }

  #resync(): void {
    void this.#catchUp.loop().catch((error: unknown) => this.#link.finish(toClientError(error)));
  }
}
