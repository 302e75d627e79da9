import type { JsonValue } from '@eventloom/protocol';
import type { ConfirmedEvent } from '../reactions/confirmed-event.ts';

/**
 * A CloudEvents 1.0 event in the JSON format: the context attributes, `data` as JSON, and
 * Eventloom's extensions (lower-case, as the spec wants): `position`, `streamversion`,
 * `correlationid`, `causationid`, and `traceparent` (the Distributed Tracing extension).
 * `position` is a String extension holding decimal digits: a CloudEvents Integer is 32-bit signed,
 * and a log passes 2,147,483,647 positions.
 */
export interface CloudEvent {
  readonly specversion: '1.0';
  /** The Eventloom event id: with `source`, what a receiver dedupes by. */
  readonly id: string;
  readonly source: string;
  /** The event type, e.g. `order.shipped`. */
  readonly type: string;
  /** The stream. */
  readonly subject: string;
  /** The hub's commit time (`recordedAt`), RFC 3339. */
  readonly time?: string;
  readonly datacontenttype: 'application/json';
  readonly data: JsonValue;
  /** The global position, in decimal digits (`"7"`): the order events were committed in. */
  readonly position: string;
  readonly streamversion?: number;
  readonly correlationid?: string;
  readonly causationid?: string;
  readonly traceparent?: string;
}

/** What {@link toCloudEvent} takes besides the event. */
export interface CloudEventOptions {
  /** The CloudEvents `source`, a URI reference naming the producer. Default `/eventloom`. */
  readonly source?: string;
}

/** The default of {@link CloudEventOptions.source}. */
export const DEFAULT_CLOUD_EVENT_SOURCE = '/eventloom';

/**
 * A confirmed event as a CloudEvent (JSON format). The same event always gives the same
 * CloudEvent, so a receiver told it twice can dedupe by `source` + `id`.
 *
 * @example toCloudEvent(event, { source: '/shop/hub' }) // { specversion: '1.0', id: event.id, subject: event.stream, … }
 */
export function toCloudEvent(event: ConfirmedEvent, options: CloudEventOptions = {}): CloudEvent {
  const { source = DEFAULT_CLOUD_EVENT_SOURCE } = options;
  const { correlationId, causationId, traceparent } = event.meta;
  return {
    specversion: '1.0',
    id: event.id,
    source,
    type: event.type,
    subject: event.stream,
    ...(event.recordedAt === undefined ? {} : { time: event.recordedAt }),
    datacontenttype: 'application/json',
    data: (event.data ?? null) as JsonValue,
    position: String(event.position),
    ...(event.streamVersion === undefined ? {} : { streamversion: event.streamVersion }),
    ...(correlationId === undefined ? {} : { correlationid: correlationId }),
    ...(causationId === undefined ? {} : { causationid: causationId }),
    ...(traceparent === undefined ? {} : { traceparent }),
  };
}
