import { encodeCloudEvent, type CloudEvent, type IntegrationRelay } from '@eventloom/core';
import { jetstream, jetstreamManager, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { ensureJetStream, type JetStreamStreamOptions } from './jetstream-stream.ts';
import { watchConnection, type ConnectionWatch } from './nats-connection.ts';

/** The defaults of {@link JetStreamRelayOptions}. */
export const JetStreamDefaults = {
  stream: 'EVENTLOOM',
  subjectPrefix: 'eventloom',
  /** How long one publish waits for its PubAck. */
  ackTimeoutMs: 10_000,
  /** The duplicate window of a stream the relay creates: re-sends within it are dropped by `Nats-Msg-Id`. */
  duplicateWindowMs: 2 * 60_000,
} as const;

/** What {@link createJetStreamRelay} takes. */
export interface JetStreamRelayOptions extends JetStreamStreamOptions {
  /** An open NATS connection (`connect` of `@nats-io/transport-node`); the caller closes it. */
  readonly connection: NatsConnection;
  /** The stream the events go to, created when missing. Default `EVENTLOOM`. */
  readonly stream?: string;
  /** Each event goes to `<subjectPrefix>.<type>` (`eventloom.order.shipped`). Default `eventloom`. */
  readonly subjectPrefix?: string;
  /** `structured` (default: the body is the CloudEvent) or `binary` (the body is `data`, attributes `ce-*` headers). */
  readonly mode?: 'structured' | 'binary';
  /** How long one publish waits for its PubAck. Default 10 s. */
  readonly ackTimeoutMs?: number;
}

/** The JetStream relay: an {@link IntegrationRelay} that pipelines each page. */
export interface JetStreamRelay extends IntegrationRelay {
  readonly stream: string;
  /** The subject an event type is published on. */
  subjectOf(type: string): string;
  /** Publishes so far, by outcome (for the metrics): stored anew, or dropped as a duplicate by JetStream. */
  readonly counts: { readonly stored: number; readonly duplicates: number };
  /** Stops waiting for the connection (publishes in progress fail); the connection stays open. */
  close(): void;
}

/**
 * An {@link IntegrationRelay} to NATS JetStream: each event a CloudEvent on
 * `<subjectPrefix>.<type>` with `Nats-Msg-Id` set to the event id, so that JetStream's duplicate
 * window drops a re-send; `publish` resolves only on the PubAck from the stream, so the handler's
 * checkpoint passes an event only once JetStream has it. While the connection is down, a publish
 * waits for it (events wait, nothing is dead-lettered for the outage); a refusal (no stream for the
 * subject, a PubAck from another stream, a timeout while connected) rejects with a `HubError`
 * `relay`, which the handler retries with backoff and dead-letters after its last attempt.
 * Creates the stream when missing, and checks that an existing one takes the subjects.
 *
 * @example
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const relay = await createJetStreamRelay({ connection: nc });
 * const handlers = [integrationHandler(relay, { name: 'jetstream', checkpointEvery: 500 })];
 */
export async function createJetStreamRelay(options: JetStreamRelayOptions): Promise<JetStreamRelay> {
  const {
    connection,
    stream = JetStreamDefaults.stream,
    subjectPrefix = JetStreamDefaults.subjectPrefix,
    mode = 'structured',
    ackTimeoutMs = JetStreamDefaults.ackTimeoutMs,
  } = options;
  if (mode !== 'structured' && mode !== 'binary') {
    throw new HubError(
      HubErrorCode.config,
      `jetstream mode must be structured or binary, not ${JSON.stringify(mode)}`,
    );
  }
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(subjectPrefix)) {
    throw new HubError(
      HubErrorCode.config,
      `jetstream subject prefix must be tokens of letters, digits, _ and - joined by dots, not ${JSON.stringify(subjectPrefix)}`,
    );
  }
  if (!(ackTimeoutMs > 0) || !Number.isFinite(ackTimeoutMs)) {
    throw new HubError(HubErrorCode.config, `jetstream ackTimeoutMs must be > 0, got ${ackTimeoutMs}`);
  }
  const jsm = await jetstreamManager(connection);
  await ensureJetStream(jsm, {
    stream,
    subjects: [`${subjectPrefix}.>`],
    duplicateWindowMs: options.duplicateWindowMs ?? JetStreamDefaults.duplicateWindowMs,
    ...(options.createStream === undefined ? {} : { createStream: options.createStream }),
  });
  return new Relay(connection, jetstream(connection), stream, subjectPrefix, mode, ackTimeoutMs);
}

class Relay implements JetStreamRelay {
  readonly stream: string;
  readonly counts = { stored: 0, duplicates: 0 };
  readonly #js: JetStreamClient;
  readonly #prefix: string;
  readonly #mode: 'structured' | 'binary';
  readonly #ackTimeoutMs: number;
  readonly #watch: ConnectionWatch;
  /** Publishes started by `prepare`, taken by the `publish` of the same event. */
  #started = new Map<string, Promise<void>>();

  constructor(
    connection: NatsConnection,
    js: JetStreamClient,
    stream: string,
    prefix: string,
    mode: 'structured' | 'binary',
    ackTimeoutMs: number,
  ) {
    this.#js = js;
    this.stream = stream;
    this.#prefix = prefix;
    this.#mode = mode;
    this.#ackTimeoutMs = ackTimeoutMs;
    this.#watch = watchConnection(connection);
  }

  subjectOf(type: string): string {
    return `${this.#prefix}.${type}`;
  }

  prepare(events: readonly CloudEvent[]): void {
    // What the last page left unclaimed (the lane stopped or failed) is dropped: it runs again.
    for (const dropped of this.#started.values()) dropped.catch(() => undefined);
    this.#started = new Map();
    for (const event of events) {
      const sending = this.#send(event);
      sending.catch(() => undefined);
      this.#started.set(event.id, sending);
    }
  }

  async publish(events: readonly CloudEvent[]): Promise<void> {
    for (const event of events) {
      const started = this.#started.get(event.id);
      if (started !== undefined) {
        this.#started.delete(event.id);
        await started;
      } else {
        await this.#send(event);
      }
    }
  }

  close(): void {
    this.#watch.close();
  }

  async #send(event: CloudEvent): Promise<void> {
    const subject = this.subjectOf(event.type);
    const message = encodeCloudEvent(event, this.#mode);
    for (;;) {
      await this.#watch.connected();
      const epoch = this.#watch.epoch;
      const h = natsHeaders();
      for (const [name, value] of Object.entries(message.headers)) h.set(name, value);
      let ack: PubAck;
      try {
        ack = await this.#js.publish(subject, message.body, {
          msgID: event.id,
          headers: h,
          timeout: this.#ackTimeoutMs,
        });
      } catch (error) {
        // Lost with the connection: not the event's fault, so it waits for the next one.
        if (this.#watch.epoch !== epoch || !this.#watch.isConnected) continue;
        throw new HubError(
          HubErrorCode.relay,
          `jetstream publish of ${event.id} on ${subject} failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      if (ack.stream !== this.stream) {
        throw new HubError(
          HubErrorCode.relay,
          `jetstream: ${subject} was stored by stream ${ack.stream}, not ${this.stream}`,
        );
      }
      if (ack.duplicate) this.counts.duplicates++;
      else this.counts.stored++;
      return;
    }
  }
}
