/**
 * The wire form of a hybrid logical clock timestamp: `wall-counter-node`, with the wall time in ms
 * and the counter zero-padded so that string order is clock order (node id breaks ties).
 *
 * @example formatHlc({ wall: 1732700000000, counter: 3, node: 'c1' }) // '001732700000000-0000000003-c1'
 */
export interface HlcTimestamp {
  /** Milliseconds since the epoch, as far as the clock knows. */
  readonly wall: number;
  /** Logical counter within one wall millisecond. */
  readonly counter: number;
  /** The clock's node id (the client id): letters, digits, `_` and `-`. */
  readonly node: string;
}

/** Largest wall time the format holds (15 digits). */
export const HLC_MAX_WALL = 999_999_999_999_999;
/** Largest counter the format holds (10 digits). */
export const HLC_MAX_COUNTER = 9_999_999_999;
/** What a serialised timestamp looks like. */
export const HLC_PATTERN = /^(\d{15})-(\d{10})-([A-Za-z0-9_-]{1,128})$/;

/** Serialises a timestamp; throws a RangeError on a value the format cannot hold (a programmer error). */
export function formatHlc(ts: HlcTimestamp): string {
  if (!Number.isSafeInteger(ts.wall) || ts.wall < 0 || ts.wall > HLC_MAX_WALL) {
    throw new RangeError(`hlc wall time out of range: ${ts.wall}`);
  }
  if (!Number.isSafeInteger(ts.counter) || ts.counter < 0 || ts.counter > HLC_MAX_COUNTER) {
    throw new RangeError(`hlc counter out of range: ${ts.counter}`);
  }
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(ts.node)) throw new RangeError(`hlc node id not allowed: ${ts.node}`);
  return `${String(ts.wall).padStart(15, '0')}-${String(ts.counter).padStart(10, '0')}-${ts.node}`;
}

/** Parses a serialised timestamp; `undefined` if it is not one. */
export function parseHlc(s: string): HlcTimestamp | undefined {
  const m = HLC_PATTERN.exec(s);
  if (!m) return undefined;
  return { wall: Number(m[1]), counter: Number(m[2]), node: m[3] as string };
}
