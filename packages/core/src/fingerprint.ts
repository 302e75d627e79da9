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
 * encoded as U+FFFD, as `TextEncoder` does. Written for size, not speed: it hashes a registry's
 * schemas once (a client bundles it), never a stream of data.
 */
export function sha256Hex(text: string): string {
  const bytes = utf8(text);
  const bits = bytes.length * 8;
  // Pad: 0x80, zeros, then the bit length as a 64-bit big-endian integer, to a multiple of 64 bytes.
  bytes.push(0x80);
  while (bytes.length % 64 !== 56) bytes.push(0);
  for (let shift = 56; shift >= 0; shift -= 8) bytes.push(Math.floor(bits / 2 ** shift) & 0xff);

  let h = [...H0];
  const w: number[] = [];
  for (let offset = 0; offset < bytes.length; offset += 64) {
    for (let i = 0; i < 64; i++) {
      const at = offset + i * 4;
      w[i] =
        i < 16
          ? (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!
          : (mix(w[i - 15]!, 7, 18, 3) + mix(w[i - 2]!, 17, 19, 10) + w[i - 16]! + w[i - 7]!) | 0;
    }
    // The working variables a…h; each round shifts them down by one, with a new `a` and `e`.
    let [a, b, c, d, e, f, g, hh] = h as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + sum(e, 6, 11, 25) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
      const t2 = (sum(a, 2, 13, 22) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      [a, b, c, d, e, f, g, hh] = [(t1 + t2) | 0, a, b, c, (d + t1) | 0, e, f, g];
    }
    const next = [a, b, c, d, e, f, g, hh];
    h = h.map((x, i) => (x + next[i]!) | 0);
  }
  return h.map((word) => (word >>> 0).toString(16).padStart(8, '0')).join('');
}

/** SHA-256's initial hash value: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const H0 = /* @__PURE__ */ primeRoots(8, Math.sqrt);

/** SHA-256's round constants: the same of the cube roots of the first 64 primes (FIPS 180-4 §4.2.2). */
const K = /* @__PURE__ */ primeRoots(64, Math.cbrt);

/** Σ of the rounds: the XOR of three right rotations. */
function sum(x: number, p: number, q: number, r: number): number {
  return rotr(x, p) ^ rotr(x, q) ^ rotr(x, r);
}

/** σ of the message schedule: two right rotations and a shift. */
function mix(x: number, p: number, q: number, r: number): number {
  return rotr(x, p) ^ rotr(x, q) ^ (x >>> r);
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/** The UTF-8 bytes of `text`, code point by code point; a lone surrogate becomes U+FFFD. */
function utf8(text: string): number[] {
  const out: number[] = [];
  for (const char of text) {
    let c = char.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else {
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
  return out;
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
