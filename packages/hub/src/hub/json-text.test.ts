import { Server } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { encodeJsonText, JsonText } from './json-text.ts';

// Two servers never attached to anything (nothing to close): one with the encoder as Socket.IO makes it, one with JsonText.
const plain = new Server();
const withText = new Server();
encodeJsonText(withText);

type Packet = Parameters<Server['encoder']['encode']>[0];

describe('encodeJsonText', () => {
  const page = {
    events: [{ id: 'e1', data: { text: 'ü🙂 "quoted" \\ \u2028 lone \ud800', n: [1.5, -0, 1e21] } }],
    head: 7,
    until: 1,
    more: true,
  };

  it('writes a JsonText argument as the frame the encoder writes for its value', () => {
    const packets: ((arg: unknown) => Packet)[] = [
      (arg) => ({ type: 3, nsp: '/', id: 12, data: [arg] }),
      (arg) => ({ type: 3, nsp: '/', id: 0, data: [arg] }),
      (arg) => ({ type: 2, nsp: '/', data: ['events', arg] }),
      (arg) => ({ type: 2, nsp: '/admin', id: 4, data: ['events', arg, undefined, null] }),
    ];
    for (const packet of packets) {
      const expected = plain.encoder.encode(packet(page));
      expect(withText.encoder.encode(packet(new JsonText(JSON.stringify(page))))).toEqual(expected);
    }
  });

  it('leaves every other packet to the encoder as it was', () => {
    const packets: Packet[] = [
      { type: 3, nsp: '/', id: 3, data: [page] },
      { type: 2, nsp: '/', data: ['bytes', Buffer.from([1, 2, 3])] },
      { type: 0, nsp: '/', data: { sid: 'x' } },
      { type: 1, nsp: '/' },
    ];
    for (const packet of packets) {
      expect(withText.encoder.encode(structuredClone(packet))).toEqual(
        plain.encoder.encode(structuredClone(packet)),
      );
    }
  });
});
