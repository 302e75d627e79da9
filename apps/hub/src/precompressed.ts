import { lstat } from 'node:fs/promises';

/** A content coding the build writes beside a file: `x.js.br`, `x.js.gz`. */
export type PrecompressedEncoding = 'br' | 'gzip';

/** The codings looked for, best first, with the suffix of their file. */
const VARIANTS: readonly { readonly encoding: PrecompressedEncoding; readonly suffix: string }[] = [
  { encoding: 'br', suffix: '.br' },
  { encoding: 'gzip', suffix: '.gz' },
];

/** A precompressed copy of a file, to send with `content-encoding`. */
export interface PrecompressedFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly encoding: PrecompressedEncoding;
}

/** Whether a response of this content type is worth compressing (text, JSON, SVG, JS, WASM). */
export function isCompressible(contentType: string): boolean {
  return /^(text\/|application\/(json|manifest\+json|javascript|wasm)|image\/svg\+xml)/.test(contentType);
}

/**
 * The codings an `Accept-Encoding` header allows, by q-value (RFC 9110 §12.5.3): `q=0` refuses
 * one, `*` stands for those not named, and no header at all allows none (identity only).
 */
export function acceptedEncodings(
  header: string | readonly string[] | undefined,
): Set<PrecompressedEncoding> {
  const accepted = new Set<PrecompressedEncoding>();
  if (header === undefined) return accepted;
  const named = new Map<string, number>();
  for (const part of (Array.isArray(header) ? header.join(',') : (header as string)).split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (name === undefined || name === '') continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    named.set(name, q === undefined ? 1 : Number(q));
  }
  for (const { encoding } of VARIANTS) {
    const q =
      named.get(encoding) ?? (encoding === 'gzip' ? named.get('x-gzip') : undefined) ?? named.get('*');
    if (q !== undefined && q > 0) accepted.add(encoding);
  }
  return accepted;
}

/**
 * The best precompressed copy of `path` the client accepts, if the build wrote one that is at
 * least as new as the file (a stale copy is never sent).
 */
export async function findPrecompressed(
  path: string,
  mtimeMs: number,
  acceptEncoding: string | readonly string[] | undefined,
): Promise<PrecompressedFile | undefined> {
  const accepted = acceptedEncodings(acceptEncoding);
  for (const { encoding, suffix } of VARIANTS) {
    if (!accepted.has(encoding)) continue;
    try {
      // lstat: a symlink is not a regular file, so a copy can never lead out of the folder.
      const info = await lstat(path + suffix);
      if (info.isFile() && info.mtimeMs >= mtimeMs) {
        return { path: path + suffix, size: info.size, mtimeMs: info.mtimeMs, encoding };
      }
    } catch {
      // no copy in this coding
    }
  }
  return undefined;
}
