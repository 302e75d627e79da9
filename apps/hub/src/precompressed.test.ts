import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedEncodings } from './precompressed.ts';
import { createStaticHandler } from './static-files.ts';

const js = `console.log(${JSON.stringify('a bundle '.repeat(200))});`;
let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eventloom-precompressed-'));
  await mkdir(join(dir, 'assets'));
  const app = join(dir, 'assets', 'app-1a2b.js');
  await writeFile(app, js);
  await writeFile(`${app}.br`, brotliCompressSync(js));
  await writeFile(`${app}.gz`, gzipSync(js));
  // A copy older than its file (a rebuild that did not compress): never sent.
  const stale = join(dir, 'stale.js');
  await writeFile(`${stale}.gz`, gzipSync('old'));
  await writeFile(stale, 'new');
  const past = new Date(Date.now() - 60_000);
  await utimes(`${stale}.gz`, past, past);
  await writeFile(join(dir, 'icon.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  await writeFile(join(dir, 'icon.png.gz'), gzipSync('not an image'));
  const files = createStaticHandler(dir);
  server = createServer((req, res) => {
    void files(req, res).then((done) => {
      if (!done) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** A raw GET (fetch would decode the body itself). */
async function get(path: string, headers: Record<string, string> = {}) {
  const { request } = await import('node:http');
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }>((resolve, reject) => {
    const req = request(`${base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('precompressed static files', () => {
  it('sends the brotli copy to a client that takes it, the gzip one to a client that takes only gzip, with Vary', async () => {
    const br = await get('/assets/app-1a2b.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['vary']).toBe('Accept-Encoding');
    expect(br.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
    expect(br.body.length).toBeLessThan(js.length / 4);
    expect(brotliDecompressSync(br.body).toString()).toBe(js);

    const gz = await get('/assets/app-1a2b.js', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(js);
    expect(gz.headers['etag']).not.toBe(br.headers['etag']);
  });

  it('sends the file itself without Accept-Encoding, or when every coding is refused (q=0)', async () => {
    for (const headers of [
      {},
      { 'accept-encoding': 'br;q=0, gzip;q=0' },
      { 'accept-encoding': 'identity' },
    ]) {
      const plain = await get('/assets/app-1a2b.js', headers);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers['vary']).toBe('Accept-Encoding');
      expect(plain.body.toString()).toBe(js);
    }
  });

  it('answers a revalidation of the encoded copy with 304, never sends a stale copy, and leaves images alone', async () => {
    const first = await get('/assets/app-1a2b.js', { 'accept-encoding': 'br' });
    const again = await get('/assets/app-1a2b.js', {
      'accept-encoding': 'br',
      'if-none-match': String(first.headers['etag']),
    });
    expect(again.status).toBe(304);
    expect(again.headers['content-encoding']).toBe('br');

    const stale = await get('/stale.js', { 'accept-encoding': 'gzip' });
    expect(stale.headers['content-encoding']).toBeUndefined();
    expect(stale.body.toString()).toBe('new');

    const png = await get('/icon.png', { 'accept-encoding': 'gzip' });
    expect(png.headers['content-encoding']).toBeUndefined();
    expect(png.headers['vary']).toBeUndefined();
  });

  it('reads Accept-Encoding by q-value, with * and x-gzip', () => {
    expect([...acceptedEncodings('br;q=1.0, gzip;q=0.5')]).toEqual(['br', 'gzip']);
    expect([...acceptedEncodings('*')]).toEqual(['br', 'gzip']);
    expect([...acceptedEncodings('*, br;q=0')]).toEqual(['gzip']);
    expect([...acceptedEncodings('x-gzip')]).toEqual(['gzip']);
    expect([...acceptedEncodings('deflate')]).toEqual([]);
    expect([...acceptedEncodings(undefined)]).toEqual([]);
  });
});
