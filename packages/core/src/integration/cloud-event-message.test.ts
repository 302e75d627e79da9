import { describe, expect, it } from 'vitest';
import type { CloudEvent } from './cloud-event.ts';
import { decodeCloudEvent, encodeCloudEvent, encodeCloudEventBatch } from './cloud-event-message.ts';

const event: CloudEvent = {
  specversion: '1.0',
  id: 'e1',
  source: '/shop/hub',
  type: 'order.shipped',
  subject: 'order:ö 1 "x" 100%',
  time: '2026-11-27T10:00:07.000Z',
  datacontenttype: 'application/json',
  data: { orderId: 'o1' },
  position: '3000000000',
  streamversion: 3,
};

describe('encodeCloudEvent / decodeCloudEvent', () => {
  it('round-trips structured and binary mode, percent-encoding binary header values', () => {
    const structured = encodeCloudEvent(event, 'structured');
    expect(structured.headers).toEqual({ 'content-type': 'application/cloudevents+json; charset=utf-8' });
    expect(JSON.parse(structured.body)).toEqual(event);
    const binary = encodeCloudEvent(event, 'binary');
    expect(binary.headers['ce-subject']).toBe('order:%C3%B6%201%20%22x%22%20100%25');
    expect(binary.headers['ce-position']).toBe('3000000000');
    expect(binary.headers['content-type']).toBe('application/json');
    expect(binary.body).toBe('{"orderId":"o1"}');
    for (const message of [structured, binary]) {
      const decoded = decodeCloudEvent(message.headers, message.body);
      expect(decoded.ok && decoded.value).toMatchObject({
        id: 'e1',
        type: 'order.shipped',
        subject: event.subject,
        data: { orderId: 'o1' },
      });
      expect(decoded.ok && String(decoded.value.extensions['position'])).toBe('3000000000');
    }
    expect(() => encodeCloudEvent(event, 'batch' as 'binary')).toThrow(/structured or binary/);
    expect(JSON.parse(encodeCloudEventBatch([event]).body)).toEqual([event]);
  });

  it('answers what is wrong with a message that is not a CloudEvent with JSON data, without throwing', () => {
    const bad = (headers: Record<string, string>, body: string) => {
      const decoded = decodeCloudEvent(headers, body);
      return decoded.ok ? 'ok' : decoded.error;
    };
    expect(bad({}, 'not json')).toBe('the body is not JSON');
    expect(bad({}, '[1]')).toBe('a structured CloudEvent is a JSON object');
    expect(bad({}, '{"specversion":"0.3","id":"a","source":"s","type":"t"}')).toMatch(/specversion/);
    expect(bad({}, '{"specversion":"1.0","source":"s","type":"t"}')).toBe('the CloudEvent has no id');
    expect(bad({ 'Content-Type': 'application/cloudevents-batch+json' }, '[]')).toMatch(/batch/);
    expect(
      bad(
        {
          'ce-specversion': '1.0',
          'ce-id': 'a',
          'ce-source': 's',
          'ce-type': 't',
          'content-type': 'text/plain',
        },
        'x',
      ),
    ).toMatch(/only JSON data/);
    expect(bad({ 'CE-SPECVERSION': '1.0', 'ce-id': 'a', 'ce-source': 's', 'ce-type': 't' }, '{"x":1}')).toBe(
      'ok',
    );
    expect(
      bad({ 'ce-specversion': '1.0', 'ce-id': '%E0%A4%A', 'ce-source': 's', 'ce-type': 't' }, '1'),
    ).toMatch(/percent-encoded/);
  });
});
