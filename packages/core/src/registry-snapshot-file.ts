/**
 * The committed snapshot file (`eventloom schema snapshot`): reading it back with its checks, and
 * writing it. Apart from `registry-snapshot.ts`, so that an app that only takes snapshots (a
 * client computing its registry's fingerprint) does not bundle the file's schema.
 */
import { err, ErrorCode, ok, STORED_EVENT_KINDS, type Result } from '@eventloom/protocol';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import type { JsonSchema } from './compare-json-schemas.ts';
import { fingerprint } from './fingerprint.ts';
import { REGISTRY_SNAPSHOT_FORMAT, registryFingerprint, type RegistrySnapshot } from './registry-snapshot.ts';

/**
 * Reads a snapshot from parsed JSON (a committed file): checks its shape, its format version, and
 * that every fingerprint matches its schema (a hand-edited file is refused). Never throws.
 */
export function parseRegistrySnapshot(input: unknown): Result<RegistrySnapshot> {
  const parsed = registrySnapshotSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? '';
    return err({
      code: ErrorCode.invalid,
      message: `${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`,
      path,
    });
  }
  const snapshot = parsed.data as RegistrySnapshot;
  for (const [type, entry] of Object.entries(snapshot.events)) {
    const numbers = Object.keys(entry.versions).map(Number);
    if (numbers.length !== entry.latestVersion || Math.max(...numbers) !== entry.latestVersion) {
      return err({
        code: ErrorCode.invalid,
        message: `${type}: versions must be 1 … latestVersion (${entry.latestVersion}) without gaps`,
        path: `events.${type}.latestVersion`,
      });
    }
    for (const [version, v] of Object.entries(entry.versions)) {
      if (fingerprint(v.schema) !== v.fingerprint) {
        return err({
          code: ErrorCode.invalid,
          message: `${type} v${version}: the fingerprint does not match the schema (was the file edited by hand?)`,
          path: `events.${type}.versions.${version}.fingerprint`,
        });
      }
    }
  }
  if (registryFingerprint(snapshot.events) !== snapshot.fingerprint) {
    return err({
      code: ErrorCode.invalid,
      message: 'the registry fingerprint does not match its events',
      path: 'fingerprint',
    });
  }
  return ok(snapshot);
}

/** A snapshot as the text of the committed file: canonical (sorted keys), 2-space indented, with a final newline. */
export function stringifyRegistrySnapshot(snapshot: RegistrySnapshot): string {
  return `${canonicalJson(snapshot, 2)}\n`;
}

const fingerprintSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in lower-case hex');
const jsonSchemaSchema: z.ZodType<JsonSchema> = z.union([z.boolean(), z.record(z.string(), z.json())]);

/** The shape of a snapshot file, for {@link parseRegistrySnapshot}. */
export const registrySnapshotSchema = z.strictObject({
  format: z.literal(REGISTRY_SNAPSHOT_FORMAT),
  fingerprint: fingerprintSchema,
  events: z.record(
    z.string(),
    z.strictObject({
      kind: z.enum(STORED_EVENT_KINDS),
      latestVersion: z.int().min(1),
      versions: z
        .record(
          z.string().regex(/^[1-9][0-9]*$/, 'versions are positive integers'),
          z.strictObject({
            fingerprint: fingerprintSchema,
            schema: jsonSchemaSchema,
          }),
        )
        .refine((versions) => Object.keys(versions).length > 0, 'an event type needs at least one version'),
    }),
  ),
});
