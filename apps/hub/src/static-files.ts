import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { findPrecompressed, isCompressible } from './precompressed.ts';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Answers a request from a folder of files; resolves true when it answered. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * Serves the files of `root` (a built single-page app, e.g. `apps/demo/dist`) for GET and HEAD:
 * content types by extension, `ETag`s and 304s, hashed `/assets/*` cached for a year and
 * everything else revalidated (so a new service worker and `index.html` are seen at once), and
 * `index.html` for an unknown path that a browser navigates to (client-side routes), and the
 * build's precompressed copies (`x.js.br`, `x.js.gz`) to clients that accept them. Never serves
 * outside `root`; answers false (not handled) for other methods and for missing non-page files.
 *
 * @example
 * const files = createStaticHandler('apps/demo/dist');
 * createServer((req, res) => void files(req, res).then((done) => done || notFound(res)));
 */
export function createStaticHandler(root: string): StaticHandler {
  const base = resolve(root);
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return false;
    }
    if (pathname.includes('\0')) return false;
    const wanted = resolve(base, `.${normalize(`/${pathname}`)}`);
    if (wanted !== base && !wanted.startsWith(base + sep)) return false;
    const file = (await fileAt(wanted)) ?? (await fileAt(join(wanted, 'index.html')));
    if (file !== undefined) return send(req, res, file, pathname);
    // A navigation to a route of the app: the app shell answers it.
    const page = extname(pathname) === '' && (req.headers.accept ?? '').includes('text/html');
    const shell = page ? await fileAt(join(base, 'index.html')) : undefined;
    return shell === undefined ? false : send(req, res, shell, '/index.html');
  };
}

interface FoundFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

async function fileAt(path: string): Promise<FoundFile | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? { path, size: info.size, mtimeMs: info.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

async function send(
  req: IncomingMessage,
  res: ServerResponse,
  found: FoundFile,
  pathname: string,
): Promise<boolean> {
  const type = TYPES[extname(found.path).toLowerCase()] ?? 'application/octet-stream';
  // The build's brotli or gzip copy when the client takes it; the answer varies with the header.
  const compressible = isCompressible(type);
  const encoded = compressible
    ? await findPrecompressed(found.path, found.mtimeMs, req.headers['accept-encoding'])
    : undefined;
  const file = encoded ?? found;
  const etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}${encoded ? `-${encoded.encoding}` : ''}"`;
  const headers = {
    'content-type': type,
    'cache-control': pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
    ...(compressible ? { vary: 'Accept-Encoding' } : {}),
    ...(encoded ? { 'content-encoding': encoded.encoding } : {}),
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  res.writeHead(200, { ...headers, 'content-length': String(file.size) });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  return new Promise((done) => {
    const stream = createReadStream(file.path);
    stream.on('error', () => res.destroy());
    res.on('close', () => {
      stream.destroy();
      done(true);
    });
    stream.pipe(res);
  });
}
