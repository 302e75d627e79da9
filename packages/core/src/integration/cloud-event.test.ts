import { describe, expect, it } from 'vitest';
import type { ConfirmedEvent } from '../reactions/confirmed-event.ts';
import { toCloudEvent } from './cloud-event.ts';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const shipped: ConfirmedEvent = {
  id: '0190a1b2-c3d4-7e5f-8a6b-000000000007',
  type: 'order.shipped',
  version: 2,
  kind: 'integration',
  stream: 'order:o1',
  data: { orderId: 'o1', carrier: 'ups' },
  meta: {
    correlationId: 'checkout-7',
    causationId: 'e6',
    traceparent: TRACEPARENT,
    principal: { sub: 'u1' },
  },
  clientId: 'c1',
  clientSeq: 4,
  hlc: '001732700000007-0000000000-c1',
  position: 7,
  streamVersion: 3,
  recordedAt: '2026-11-27T10:00:07.000Z',
};

describe('toCloudEvent', () => {
  it('maps a confirmed event to CloudEvents 1.0 JSON with the position and trace extensions', () => {
    expect(toCloudEvent(shipped, { source: '/shop/hub' })).toEqual({
      specversion: '1.0',
      id: shipped.id,
      source: '/shop/hub',
      type: 'order.shipped',
      subject: 'order:o1',
      time: '2026-11-27T10:00:07.000Z',
      datacontenttype: 'application/json',
      data: { orderId: 'o1', carrier: 'ups' },
      position: '7',
      streamversion: 3,
      correlationid: 'checkout-7',
      causationid: 'e6',
      traceparent: TRACEPARENT,
    });
  });

  it('leaves out what the event does not have, and names extensions as the spec allows', () => {
    const { recordedAt: _r, streamVersion: _v, ...bare } = shipped;
    const cloud = toCloudEvent({ ...bare, meta: {}, data: null });
    expect(cloud).toEqual({
      specversion: '1.0',
      id: shipped.id,
      source: '/eventloom',
      type: 'order.shipped',
      subject: 'order:o1',
      datacontenttype: 'application/json',
      data: null,
      position: '7',
    });
    for (const name of Object.keys(toCloudEvent(shipped))) expect(name).toMatch(/^[a-z0-9]{1,20}$/);
  });
});
