import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { encodeAck, encodeEvent, encodeJsonText, EncodedPacket, JsonText } from './json-text.ts';

// Two servers never listening (nothing to close): one with the encoder as Socket.IO makes it, one with JsonText.
const plain = new Server(createServer());
const withText = new Server(createServer());
encodeJsonText(withText);

type Packet = Parameters<Server['encoder']['encode']>[0];

/** `json` as a JsonText of texts and UTF-8 bytes, cut at `cuts` (offsets outside surrogate pairs). */
function jsonText(json: string, cuts: number[]): JsonText {
  const parts: (string | Uint8Array)[] = [];
  let at = 0;
  for (const [i, cut] of [...cuts, json.length].entries()) {
    const piece = json.slice(at, cut);
    parts.push(i % 2 === 0 ? piece : new TextEncoder().encode(piece));
    at = cut;
  }
  return new JsonText(...parts);
}

/** What a WebSocket peer receives of a frame: its header's opcode and length, and its text. */
function readFrame(frame: Buffer): { fin: boolean; opcode: number; text: string } {
  let length = frame[1]! & 0x7f;
  let at = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2));
    at = 10;
  }
  expect(frame.length).toBe(at + length);
  return { fin: (frame[0]! & 0x80) !== 0, opcode: frame[0]! & 0x0f, text: frame.toString('utf8', at) };
}

describe('encodeJsonText', () => {
  const page = {
    events: [{ id: 'e1', data: { text: 'ü🙂 "quoted" \\ \u2028 lone \ud800', n: [1.5, -0, 1e21] } }],
    head: 7,
    until: 1,
    more: true,
  };

  it('writes a JsonText argument, whatever its parts, as the packet the encoder writes for its value', () => {
    const packets: ((arg: unknown) => Packet)[] = [
      (arg) => ({ type: 3, nsp: '/', id: 12, data: [arg] }),
      (arg) => ({ type: 3, nsp: '/', id: 0, data: [arg] }),
      (arg) => ({ type: 2, nsp: '/', data: ['events', arg] }),
      (arg) => ({ type: 2, nsp: '/admin', id: 4, data: ['events', arg, undefined, null] }),
    ];
    const json = JSON.stringify(page);
    for (const packet of packets) {
      const [expected] = plain.encoder.encode(packet(page)) as [string];
      const at = (text: string) => json.indexOf(text);
      for (const cuts of [[], [0], [at('"data"'), at('"head"')], [1, 2, 3, json.length - 1]]) {
        const encoded = withText.encoder.encode(packet(jsonText(json, cuts))) as unknown[];
        expect(encoded).toHaveLength(1);
        expect(encoded[0]).toBeInstanceOf(EncodedPacket);
        const packetOut = encoded[0] as EncodedPacket;
        expect(String(packetOut)).toBe(expected);
        expect(packetOut.byteLength).toBe(Buffer.byteLength(expected));
        // The WebSocket frame of Engine.IO's message: final, text, `4` and the packet.
        expect(readFrame(packetOut.frame)).toEqual({ fin: true, opcode: 1, text: `4${expected}` });
      }
    }
  });

  it('frames messages of every length the WebSocket header tells in its own way', () => {
    // Payload lengths (with `43[` and `]`) around 125/126 and 65,535/65,536 bytes.
    for (const payload of [6, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const json = JSON.stringify('x'.repeat(payload - 6));
      const [encoded] = withText.encoder.encode({ type: 3, nsp: '/', data: [jsonText(json, [3])] }) as [
        EncodedPacket,
      ];
      const frame = readFrame(encoded.frame);
      expect(Buffer.byteLength(frame.text)).toBe(payload);
      expect(frame.text).toBe(`43[${json}]`);
    }
  });

  it('makes the frames of a message and of an ack as the encoder does, whatever the parts of the text', () => {
    const json = JSON.stringify(page);
    const at = (text: string) => json.indexOf(text);
    const texts = [
      new JsonText(json),
      new JsonText(json.slice(0, at('"head"')), json.slice(at('"head"'))),
      jsonText(json, [at('"data"'), at('"head"')]),
    ];
    for (const text of texts) {
      for (const [made, packet] of [
        [encodeEvent('events', text), { type: 2, nsp: '/', data: ['events', page] }],
        [encodeEvent('hub-error', text), { type: 2, nsp: '/', data: ['hub-error', page] }],
        [encodeAck(0, text), { type: 3, nsp: '/', id: 0, data: [page] }],
        [encodeAck(4_096, text), { type: 3, nsp: '/', id: 4_096, data: [page] }],
      ] as const) {
        const [expected] = plain.encoder.encode(packet) as [string];
        expect(String(made)).toBe(expected);
        expect(made.byteLength).toBe(Buffer.byteLength(expected));
        expect(readFrame(made.frame)).toEqual({ fin: true, opcode: 1, text: `4${expected}` });
      }
    }
    // Every length the WebSocket header tells in its own way.
    for (const payload of [7, 125, 126, 127, 65_535, 65_536, 70_000]) {
      const text = JSON.stringify('x'.repeat(payload - 7));
      const frame = readFrame(encodeAck(7, new JsonText(text)).frame);
      expect(Buffer.byteLength(frame.text)).toBe(payload);
      expect(frame.text).toBe(`437[${text}]`);
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
