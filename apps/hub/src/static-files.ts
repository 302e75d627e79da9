import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
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

/**
 * The security headers of every file served: a Content-Security-Policy that fits a built PWA
 * (its scripts, styles, service worker, manifest and icons from its own origin, its sync socket
 * to the same origin), no framing, no referrer.
 */
export const STATIC_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** Answers a request from a folder of files; resolves true when it answered. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * Serves the files of `root` (a built single-page app, e.g. `apps/demo/dist`) for GET and HEAD:
 * content types by extension, `ETag`s and 304s, hashed `/assets/*` cached for a year and
 * everything else revalidated (so a new service worker and `index.html` are seen at once), and
 * `index.html` for an unknown path that a browser navigates to (client-side routes), each with
 * {@link STATIC_SECURITY_HEADERS}, and the build's precompressed copies (`x.js.br`, `x.js.gz`) to
 * clients that accept them. Never serves outside `root`, not through a symlink either, and
 * never a dotfile (`/.env`, `/.git/…`; `/.well-known/` excepted); answers false (not handled) for
 * other methods and for missing non-page files.
 *
 * @example
 * const files = createStaticHandler('apps/demo/dist');
 * createServer((req, res) => void files(req, res).then((done) => done || notFound(res)));
 */
export function createStaticHandler(root: string): StaticHandler {
  const base = resolve(root);
  /** The folder as the file system resolves it (symlinks followed), once. */
  let realBase: Promise<string> | undefined;
  const inside = async (file: FoundFile): Promise<FoundFile | undefined> => {
    realBase ??= realpath(base);
    const [real, top] = await Promise.all([realpath(file.path).catch(() => undefined), realBase]);
    return real !== undefined && (real === top || real.startsWith(top + sep)) ? file : undefined;
  };
  const fileIn = async (path: string) => {
    const file = await fileAt(path);
    return file === undefined ? undefined : inside(file);
  };
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return false;
    }
    if (pathname.includes('\0') || hasDotSegment(pathname)) return false;
    const wanted = resolve(base, `.${normalize(`/${pathname}`)}`);
    if (wanted !== base && !wanted.startsWith(base + sep)) return false;
    const file = (await fileIn(wanted)) ?? (await fileIn(join(wanted, 'index.html')));
    if (file !== undefined) return send(req, res, file, pathname);
    // A navigation to a route of the app: the app shell answers it.
    const page = extname(pathname) === '' && (req.headers.accept ?? '').includes('text/html');
    const shell = page ? await fileIn(join(base, 'index.html')) : undefined;
    return shell === undefined ? false : send(req, res, shell, '/index.html');
  };
}

/** A path segment that names a dotfile or dot-folder (`.env`, `.git`), but for `.well-known`. */
function hasDotSegment(pathname: string): boolean {
  return pathname.split(/[\\/]/).some((segment) => segment.startsWith('.') && segment !== '.well-known');
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
    ...STATIC_SECURITY_HEADERS,
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
