import { createHash } from 'node:crypto';
import {
  decodeCloudEvent,
  type DeadLetter,
  type OutboxMessage,
  type ReactionStore,
  type ReceivedCloudEvent,
} from '@eventloom/core';
import type { EventMeta, StoredEventKind } from '@eventloom/protocol';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Hub } from '../hub/create-hub.ts';
import { HubError, HubErrorCode } from '../hub/hub-error.ts';
import { principalKey } from '../hub/principal-key.ts';
import { createHubOutboxRelay, type ReactionRegistry } from '../reactions/hub-outbox-relay.ts';
import { ensureJetStream, type JetStreamStreamOptions } from './jetstream-stream.ts';

/** The client id inbound events are written under, unless told otherwise. */
export const JETSTREAM_INBOUND_CLIENT_ID = 'eventloom-inbound';

/** The name inbound dead letters are filed under (`<name>/<stream>:<sequence>`). */
export const JETSTREAM_INBOUND = 'jetstream-inbound';

/** What {@link startJetStreamInbound} takes. */
export interface JetStreamInboundOptions extends JetStreamStreamOptions {
  readonly connection: NatsConnection;
  /** The running hub: the messages become events of its log, through its sequencer. */
  readonly hub: Hub;
  /** Where dead letters go (the hub reactions' store, so `/admin/dead-letters` lists them) and the seqs in flight. */
  readonly reactionStore: ReactionStore;
  /** Each message is checked against it (type, version, data); without it only envelopes are checked. */
  readonly registry?: ReactionRegistry;
  /** The stream the subjects are in, created when missing. */
  readonly stream: string;
  /** The subjects to consume (NATS wildcards allowed). */
  readonly subjects: readonly string[];
  /** The durable consumer's name (default `eventloom-hub`): it remembers what was acknowledged. */
  readonly durable?: string;
  /** The kind of the events written (default `domain`: `integration` would be relayed out again). */
  readonly kind?: StoredEventKind;
  /** The event stream a CloudEvent goes to; default its `subject`, else `inbound:<source>`. */
  readonly streamOf?: (event: ReceivedCloudEvent, natsSubject: string) => string;
  /** The client id the events are written under (default `eventloom-inbound`). */
  readonly clientId?: string;
  readonly logger: Logger;
}

/** A running inbound consumer. */
export interface JetStreamInbound {
  /** Messages handled so far, by outcome. */
  readonly counts: { readonly stored: number; readonly duplicates: number; readonly deadLettered: number };
  /** Stops taking messages and waits for the one in progress. */
  stop(): Promise<void>;
}

/**
 * Turns the JetStream messages on `subjects` into events of the hub's log, through
 * a durable consumer with explicit acks: each message (a CloudEvent, structured or binary) becomes
 * one event whose id derives from the CloudEvent's `source`, `id` and `time` (else the message's
 * stream time), so a redelivered message (a nak, a lost ack, a consumer restart) is stored once; a
 * CloudEvent sent again as a new message is skipped by the `applied` ledger of the reaction store. Each is checked against the registry; a bad
 * one (not a CloudEvent, unknown type, invalid data) is dead-lettered in the reaction store and
 * acknowledged, and the consumer goes on. A message is acknowledged only after its event (or its
 * dead letter) is committed; a store failure naks it for a later redelivery.
 *
 * @example
 * const inbound = await startJetStreamInbound({ connection: nc, hub, reactionStore, registry, stream: 'BILLING', subjects: ['billing.>'], logger });
 */
export async function startJetStreamInbound(options: JetStreamInboundOptions): Promise<JetStreamInbound> {
  const { connection, hub, reactionStore, stream, subjects, logger } = options;
  const durable = options.durable ?? 'eventloom-hub';
  const clientId = options.clientId ?? JETSTREAM_INBOUND_CLIENT_ID;
  const kind = options.kind ?? 'domain';
  if (subjects.length === 0) throw new HubError(HubErrorCode.config, 'jetstream inbound needs subjects');
  if (!/^[A-Za-z0-9_-]+$/.test(durable)) {
    throw new HubError(
      HubErrorCode.config,
      `jetstream durable name must be letters, digits, _ and -, not ${durable}`,
    );
  }
  const jsm = await jetstreamManager(connection);
  await ensureJetStream(jsm, {
    stream,
    subjects,
    ...(options.createStream === undefined ? {} : { createStream: options.createStream }),
    ...(options.duplicateWindowMs === undefined ? {} : { duplicateWindowMs: options.duplicateWindowMs }),
  });
  const filter =
    subjects.length === 1 ? { filter_subject: subjects[0]! } : { filter_subjects: [...subjects] };
  try {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 30_000_000_000,
      max_deliver: -1,
      ...filter,
    });
  } catch (error) {
    try {
      await jsm.consumers.update(stream, durable, filter);
    } catch {
      throw new HubError(HubErrorCode.config, `jetstream: cannot create consumer ${durable} on ${stream}`, {
        cause: error,
      });
    }
  }

  const principal = { sub: clientId, iss: 'eventloom-hub' };
  const hubId = await hub.store.hubId();
  if (!(await hub.store.bindClient(clientId, principalKey(principal)))) {
    throw new HubError(HubErrorCode.config, `client id ${clientId} belongs to another principal`);
  }
  let refused: { code: string; message: string } | undefined;
  const relay = createHubOutboxRelay({
    store: hub.store,
    append: (items) => hub.append(items),
    reactionStore,
    hubId,
    clientId,
    principal,
    checkpoint: `eventloom-hub/${JETSTREAM_INBOUND}`,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    maxEventBytes: hub.limits.maxEventBytes,
    logger,
    onRefused: (_message, result) => {
      refused = { code: result.code, message: result.message };
    },
  });
  const counts = { stored: 0, duplicates: 0, deadLettered: 0 };
  const streamOf =
    options.streamOf ?? ((event: ReceivedCloudEvent) => event.subject ?? `inbound:${event.source}`);

  const deadLetter = async (msg: JsMsg, reason: { code?: string; message: string }) => {
    const now = new Date().toISOString();
    const where = `${msg.info.stream}:${msg.info.streamSequence}`;
    const body = new TextDecoder().decode(msg.data).slice(0, 512);
    const letter: DeadLetter = {
      id: `${JETSTREAM_INBOUND}/${where}`,
      handler: JETSTREAM_INBOUND,
      error: {
        name: 'InboundMessageRefused',
        message: `${msg.subject} (${where}): ${reason.message}; body: ${body}`,
        ...(reason.code === undefined ? {} : { code: reason.code }),
      },
      attempts: msg.info.deliveryCount,
      firstFailedAt: now,
      lastFailedAt: now,
      instance: where,
    };
    await reactionStore.transaction((tx) => tx.putDeadLetter(letter));
    counts.deadLettered++;
    logger.warn(
      { subject: msg.subject, seq: msg.info.streamSequence, reason: reason.message },
      'jetstream inbound: message dead-lettered',
    );
  };

  const handle = async (msg: JsMsg) => {
    const headers: Record<string, string> = {};
    for (const name of msg.headers?.keys() ?? []) headers[name] = msg.headers!.get(name);
    const decoded = decodeCloudEvent(headers, new TextDecoder().decode(msg.data));
    if (!decoded.ok) {
      await deadLetter(msg, { code: 'invalid', message: `not a CloudEvent: ${decoded.error}` });
      return;
    }
    const event = decoded.value;
    const time = event.time === undefined ? Number.NaN : Date.parse(event.time);
    const createdAt = Number.isFinite(time) ? new Date(time).toISOString() : msg.time.toISOString();
    const key = createHash('sha256').update(`${event.source}\n${event.id}`).digest('hex').slice(0, 32);
    const text = (name: string) => {
      const value = event.extensions[name];
      return value === undefined ? undefined : String(value);
    };
    const correlationId = text('correlationid');
    const traceparent = text('traceparent');
    const meta: EventMeta = {
      causationId: event.id,
      ...(correlationId === undefined ? {} : { correlationId }),
      ...(traceparent === undefined ? {} : { traceparent }),
      source: event.source,
      natsSubject: msg.subject,
    };
    const message: OutboxMessage = {
      id: `${JETSTREAM_INBOUND}/${key}`,
      source: JETSTREAM_INBOUND,
      draft: { type: event.type, data: event.data, stream: streamOf(event, msg.subject), kind, meta },
      createdAt,
    };
    // A CloudEvent stored before (the producer sent it again as a new message) is skipped.
    if (await reactionStore.transaction((tx) => tx.hasApplied(JETSTREAM_INBOUND, message.id))) {
      counts.duplicates++;
      return;
    }
    refused = undefined;
    await relay.deliver([message]);
    if (refused !== undefined) {
      await deadLetter(msg, refused);
      return;
    }
    // A crash before this line: the same message comes again with the same id, and the log dedupes it.
    await reactionStore.transaction((tx) => tx.putApplied(JETSTREAM_INBOUND, message.id));
    if (msg.redelivered) counts.duplicates++;
    else counts.stored++;
  };

  const consumer = await jetstream(connection).consumers.get(stream, durable);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 256 });
  const running = (async () => {
    for await (const msg of messages) {
      try {
        await handle(msg);
        await msg.ackAck().catch(() => false);
      } catch (error) {
        // The log or the reaction store failed: the message comes again later.
        logger.error(
          { err: error, subject: msg.subject },
          'jetstream inbound: message not stored; it will come again',
        );
        msg.nak(Math.min(30_000, 200 * 2 ** Math.min(msg.info.deliveryCount, 8)));
      }
    }
  })();
  logger.info({ stream, subjects, durable }, 'jetstream inbound consumer started');
  let stopped: Promise<void> | undefined;
  return {
    counts,
    stop() {
      stopped ??= (async () => {
        await messages.close();
        await running.catch(() => undefined);
      })();
      return stopped;
    },
  };
}
