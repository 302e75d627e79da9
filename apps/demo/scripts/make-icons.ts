/**
 * Draws the demo's app icons (a small kanban board on an indigo tile) as PNG files in
 * public/icons, without any image library: shapes are rounded rectangles, anti-aliased by
 * coverage, and the PNG is written by hand (zlib from Node). Run `pnpm --filter @eventloom/demo
 * icons`; the files are committed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

type Rgb = readonly [number, number, number];
interface Shape {
  /** Left, top, right, bottom in units of a 100 × 100 tile. */
  readonly box: readonly [number, number, number, number];
  readonly radius: number;
  readonly color: Rgb;
}

const INDIGO: Rgb = [79, 70, 229];
const INDIGO_DARK: Rgb = [55, 48, 163];
const WHITE: Rgb = [255, 255, 255];
const CARD: Rgb = [224, 231, 255];
const ACCENT: Rgb = [251, 191, 36];

/** The board: three columns, cards in them, one card highlighted (the one being synced). */
function board(inset: number): Shape[] {
  const s = (v: number) => inset + (v * (100 - 2 * inset)) / 100;
  const box = (l: number, t: number, r: number, b: number): Shape['box'] => [s(l), s(t), s(r), s(b)];
  const k = (100 - 2 * inset) / 100;
  const shapes: Shape[] = [];
  const columns = [
    [17, 3],
    [40, 2],
    [63, 1],
  ] as const;
  for (const [left, cards] of columns) {
    shapes.push({ box: box(left, 20, left + 20, 80), radius: 4 * k, color: INDIGO_DARK });
    for (let i = 0; i < cards; i++) {
      const top = 25 + i * 15;
      const color = left === 40 && i === 1 ? ACCENT : i === 0 ? WHITE : CARD;
      shapes.push({ box: box(left + 3, top, left + 17, top + 11), radius: 2.5 * k, color });
    }
  }
  return shapes;
}

function render(size: number, options: { readonly maskable: boolean }): Buffer {
  const tile: Shape = options.maskable
    ? { box: [0, 0, 100, 100], radius: 0, color: INDIGO }
    : { box: [2, 2, 98, 98], radius: 22, color: INDIGO };
  // A maskable icon keeps its content in the central 80% safe zone.
  const shapes = [tile, ...board(options.maskable ? 12 : 4)];
  const pixels = Buffer.alloc(size * size * 4);
  const samples = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const shape of shapes) {
        let covered = 0;
        for (let sy = 0; sy < samples; sy++) {
          for (let sx = 0; sx < samples; sx++) {
            const px = ((x + (sx + 0.5) / samples) / size) * 100;
            const py = ((y + (sy + 0.5) / samples) / size) * 100;
            if (inside(shape, px, py)) covered++;
          }
        }
        const alpha = covered / (samples * samples);
        if (alpha === 0) continue;
        // "Over" compositing, colours straight (not premultiplied).
        const outA = alpha + a * (1 - alpha);
        const mix = (top: number, under: number) => (top * alpha + under * a * (1 - alpha)) / outA;
        [r, g, b, a] = [mix(shape.color[0], r), mix(shape.color[1], g), mix(shape.color[2], b), outA];
      }
      const i = (y * size + x) * 4;
      pixels[i] = Math.round(r);
      pixels[i + 1] = Math.round(g);
      pixels[i + 2] = Math.round(b);
      pixels[i + 3] = Math.round(a * 255);
    }
  }
  return png(size, size, pixels);
}

function inside(shape: Shape, x: number, y: number): boolean {
  const [l, t, r, b] = shape.box;
  if (x < l || x > r || y < t || y > b) return false;
  const rad = shape.radius;
  const cx = Math.min(Math.max(x, l + rad), r - rad);
  const cy = Math.min(Math.max(y, t + rad), b - rad);
  return (x - cx) ** 2 + (y - cy) ** 2 <= rad * rad;
}

/** A PNG of 8-bit RGBA pixels, rows unfiltered. */
function png(width: number, height: number, rgba: Buffer): Buffer {
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++)
    rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const out = join(import.meta.dirname, '..', 'public', 'icons');
mkdirSync(out, { recursive: true });
const icons = [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['maskable-512.png', 512, true],
  ['apple-touch-icon-180.png', 180, true],
  ['favicon-32.png', 32, false],
] as const;
for (const [name, size, maskable] of icons) {
  writeFileSync(join(out, name), render(size, { maskable }));
  console.log(`wrote public/icons/${name} (${size}×${size}${maskable ? ', maskable' : ''})`);
}
