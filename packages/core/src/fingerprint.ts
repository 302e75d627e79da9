import { canonicalJson } from './canonical-json.ts';

/**
 * A stable fingerprint of a JSON value: the SHA-256 (lower-case hex) of its {@link canonicalJson}
 * form, so key order never changes it. Pure TypeScript: runs in any JavaScript runtime.
 *
 * @example fingerprint({ b: 1, a: 2 }) === fingerprint({ a: 2, b: 1 }) // true
 */
export function fingerprint(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * SHA-256 (FIPS 180-4) of a string's UTF-8 bytes, as 64 lower-case hex digits. Lone surrogates are
 * encoded as U+FFFD, as `TextEncoder` does.
 */
export function sha256Hex(text: string): string {
  const bytes = utf8(text);
  // Pad: 0x80, zeros, then the bit length as a 64-bit big-endian integer, to a multiple of 64 bytes.
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const padded = new Uint8Array(blocks * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bits = bytes.length * 8;
  view.setUint32(padded.length - 8, Math.floor(bits / 0x1_0000_0000));
  view.setUint32(padded.length - 4, bits >>> 0);

  const h = Uint32Array.from(H0);
  const w = new Uint32Array(64);
  for (let block = 0; block < blocks; block++) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(block * 64 + i * 4);
    for (let i = 16; i < 64; i++) {
      const w15 = w[i - 15]!;
      const w2 = w[i - 2]!;
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
      w[i] = w[i - 16]! + s0 + w[i - 7]! + s1;
    }
    // The working variables a…h; each round shifts them down by one, with a new `a` and `e`.
    const v = [...h];
    for (let i = 0; i < 64; i++) {
      const [a, b, c, , e, f, g, hh] = v as [number, number, number, number, number, number, number, number];
      const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!;
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      v.pop();
      v.unshift((t1 + t2) >>> 0);
      v[4] = (v[4]! + t1) >>> 0;
    }
    // A Uint32Array keeps each sum modulo 2^32.
    for (let i = 0; i < 8; i++) h[i] = h[i]! + v[i]!;
  }
  let hex = '';
  for (const word of h) hex += word.toString(16).padStart(8, '0');
  return hex;
}

/** SHA-256's initial hash value: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const H0 = /* @__PURE__ */ primeRoots(8, Math.sqrt);

/** SHA-256's round constants: the same of the cube roots of the first 64 primes (FIPS 180-4 §4.2.2). */
const K = /* @__PURE__ */ primeRoots(64, Math.cbrt);

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xdc00 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/**
 * The first 32 bits of the fractional part of `root(p)` for the first `count` primes p. A double
 * holds these roots (< 7) to about 50 fractional bits, and none lies within 2^-40 of a 32-bit step,
 * so the words are exact (the hash test vectors check them all).
 */
function primeRoots(count: number, root: (p: number) => number): number[] {
  const words: number[] = [];
  for (let p = 2; words.length < count; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) if (p % d === 0) prime = false;
    if (prime) words.push(((root(p) % 1) * 2 ** 32) >>> 0);
  }
  return words;
}
