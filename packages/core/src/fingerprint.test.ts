import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fingerprint, sha256Hex } from './fingerprint.ts';

// The runtime's own SHA-256 (Web Crypto, in Node ≥ 20 and browsers), reached without DOM or Node types.
const webCrypto = globalThis as unknown as {
  crypto: { subtle: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> } };
  TextEncoder: new () => { encode(text: string): Uint8Array };
};

async function reference(text: string): Promise<string> {
  const digest = await webCrypto.crypto.subtle.digest('SHA-256', new webCrypto.TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('sha256Hex', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    ['héllo wörld ✓ 😀', '23e0a0c5e66366c058e29407717008da83f9004340e71ff074bb24bd4b80eb2a'],
    ['\ud800x', 'a87ce46793cc659b79bd187e998f8488635f707d5be0957e1d565981efd2b04b'],
    ['a'.repeat(55), '9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318'],
    ['a'.repeat(56), 'b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a'],
    ['a'.repeat(64), 'ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb'],
  ])('hashes %j to the FIPS 180-4 digest', (text, hex) => {
    expect(sha256Hex(text)).toBe(hex);
  });

  it('hashes a million bytes', () => {
    expect(sha256Hex('a'.repeat(1_000_000))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('agrees with Web Crypto on arbitrary strings, lone surrogates included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), async (text) => {
        expect(sha256Hex(text)).toBe(await reference(text));
      }),
      { numRuns: 200 },
    );
  });
});

describe('fingerprint', () => {
  it('ignores key order and sees every value', () => {
    expect(fingerprint({ b: [1, { y: 2, x: 1 }], a: 'x' })).toBe(
      fingerprint({ a: 'x', b: [1, { x: 1, y: 2 }] }),
    );
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: 2 }));
    expect(fingerprint([1, 2])).not.toBe(fingerprint([2, 1]));
    expect(fingerprint({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });
});
