import type { JsonValue } from '@eventloom/protocol';
import { CoreError, CoreErrorCode } from '../core-error.ts';
import type { CloudEvent } from './cloud-event.ts';

/**
 * How a CloudEvent travels in a message with headers (HTTP, NATS): `structured` (the body is the
 * event in the JSON format, `application/cloudevents+json`), `binary` (the body is `data`, each
 * attribute a `ce-<name>` header), or `batch` (the body is a JSON array of events,
 * `application/cloudevents-batch+json`; HTTP only).
 */
export type CloudEventMode = 'structured' | 'binary' | 'batch';

/** The modes, for checking what a user configured. */
export const CLOUD_EVENT_MODES: readonly CloudEventMode[] = ['structured', 'binary', 'batch'];

/** The content types of the CloudEvents JSON format. */
export const CloudEventContentType = {
  structured: 'application/cloudevents+json',
  batch: 'application/cloudevents-batch+json',
  /** The `datacontenttype` of every Eventloom CloudEvent, and the binary mode's content type. */
  data: 'application/json',
} as const;

/** The prefix of the attribute headers in binary mode (HTTP and NATS bindings alike). */
export const CLOUD_EVENT_HEADER_PREFIX = 'ce-';

/** The headers (lower-case names) and the UTF-8 body of one message. */
export interface CloudEventMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * One CloudEvent as a message, in `structured` or `binary` mode: the one mapping the webhook and
 * JetStream relays share. The same event always gives the same message.
 *
 * @example encodeCloudEvent(toCloudEvent(event), 'binary') // { headers: { 'ce-id': …, 'content-type': 'application/json' }, body: '{"orderId":"o1"}' }
 */
export function encodeCloudEvent(event: CloudEvent, mode: 'structured' | 'binary'): CloudEventMessage {
  if (mode === 'structured') {
    return {
      headers: { 'content-type': `${CloudEventContentType.structured}; charset=utf-8` },
      body: JSON.stringify(event),
    };
  }
  if (mode !== 'binary') {
    throw new CoreError(
      CoreErrorCode.invalid,
      `a single CloudEvent is structured or binary, not ${String(mode)}`,
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'datacontenttype' || value === undefined) continue;
    headers[`${CLOUD_EVENT_HEADER_PREFIX}${name}`] = encodeHeaderValue(String(value));
  }
  // The data content type as is: binary mode reads `datacontenttype` back from this header (JSON is UTF-8).
  headers['content-type'] = event.datacontenttype;
  return { headers, body: JSON.stringify(event.data) };
}

/**
 * Several CloudEvents as one `batch` message (a JSON array, even of one event).
 *
 * @example encodeCloudEventBatch([a, b]).headers['content-type'] // 'application/cloudevents-batch+json; charset=utf-8'
 */
export function encodeCloudEventBatch(events: readonly CloudEvent[]): CloudEventMessage {
  return {
    headers: { 'content-type': `${CloudEventContentType.batch}; charset=utf-8` },
    body: JSON.stringify(events),
  };
}

/** A CloudEvent read from a message: the context attributes and extensions as strings, `data` as JSON. */
export interface ReceivedCloudEvent {
  readonly specversion: string;
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly data: JsonValue;
  /** Every other attribute (extensions), as received. */
  readonly extensions: Readonly<Record<string, string | number | boolean>>;
}

/** What {@link decodeCloudEvent} answers. */
export type DecodedCloudEvent =
  | { readonly ok: true; readonly value: ReceivedCloudEvent }
  | { readonly ok: false; readonly error: string };

/**
 * Reads one CloudEvent (structured or binary mode, JSON data) from a message's headers (any case)
 * and body. Never throws: what is not a CloudEvent 1.0 with JSON data is an error sentence.
 *
 * @example const decoded = decodeCloudEvent(headersOf(msg), msg.string());
 */
export function decodeCloudEvent(
  headers: Readonly<Record<string, string | undefined>>,
  body: string,
): DecodedCloudEvent {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) lower[name.toLowerCase()] = value;
  }
  const contentType = (lower['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  let parsed: unknown;
  if (contentType === CloudEventContentType.structured || lower['ce-specversion'] === undefined) {
    if (contentType === CloudEventContentType.batch) {
      return { ok: false, error: 'a batch of CloudEvents is not one event' };
    }
    try {
      parsed = JSON.parse(body);
    } catch {
      return { ok: false, error: 'the body is not JSON' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { ok: false, error: 'a structured CloudEvent is a JSON object' };
    }
    return checkAttributes(parsed as Record<string, unknown>);
  }
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(lower)) {
    if (!name.startsWith(CLOUD_EVENT_HEADER_PREFIX)) continue;
    try {
      attributes[name.slice(CLOUD_EVENT_HEADER_PREFIX.length)] = decodeURIComponent(value);
    } catch {
      return { ok: false, error: `header ${name} is not percent-encoded UTF-8` };
    }
  }
  if (contentType !== '' && !isJsonType(contentType)) {
    return { ok: false, error: `the data is ${contentType}; only JSON data is taken` };
  }
  if (body.length === 0) attributes['data'] = null;
  else {
    try {
      attributes['data'] = JSON.parse(body);
    } catch {
      return { ok: false, error: 'the data is not JSON' };
    }
  }
  if (contentType !== '') attributes['datacontenttype'] = contentType;
  return checkAttributes(attributes);
}

const CORE_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
]);

function checkAttributes(attributes: Record<string, unknown>): DecodedCloudEvent {
  if (attributes['specversion'] !== '1.0') {
    return {
      ok: false,
      error: `specversion must be "1.0", not ${JSON.stringify(attributes['specversion'])}`,
    };
  }
  for (const name of ['id', 'source', 'type'] as const) {
    const value = attributes[name];
    if (typeof value !== 'string' || value.length === 0) {
      return { ok: false, error: `the CloudEvent has no ${name}` };
    }
  }
  for (const name of ['subject', 'time', 'datacontenttype'] as const) {
    const value = attributes[name];
    if (value !== undefined && typeof value !== 'string') {
      return { ok: false, error: `${name} must be a string` };
    }
  }
  const datacontenttype = attributes['datacontenttype'] as string | undefined;
  if (datacontenttype !== undefined && !isJsonType(datacontenttype.split(';')[0]!.trim().toLowerCase())) {
    return { ok: false, error: `the data is ${datacontenttype}; only JSON data is taken` };
  }
  if ('data_base64' in attributes) return { ok: false, error: 'data_base64 is not taken; send JSON data' };
  const extensions: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (CORE_ATTRIBUTES.has(name) || name === 'data') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      extensions[name] = value;
    }
  }
  const { subject, time } = attributes as { subject?: string; time?: string };
  return {
    ok: true,
    value: {
      specversion: '1.0',
      id: attributes['id'] as string,
      source: attributes['source'] as string,
      type: attributes['type'] as string,
      ...(subject === undefined ? {} : { subject }),
      ...(time === undefined ? {} : { time }),
      ...(datacontenttype === undefined ? {} : { datacontenttype }),
      data: (attributes['data'] ?? null) as JsonValue,
      extensions,
    },
  };
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type === 'text/json' || type.endsWith('+json');
}

/**
 * Percent-encodes what a header value may not carry as is (HTTP binding §3.1.3.2): space, `"`,
 * `%`, and everything outside printable ASCII, as UTF-8 bytes.
 */
function encodeHeaderValue(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && char !== '"' && char !== '%') out += char;
    else out += encodeURIComponent(char).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
  }
  return out;
}
