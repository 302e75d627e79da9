import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The server tests use: `EVENTLOOM_TEST_POSTGRES_URL`, else the local one (trust auth, user postgres). */
export const TEST_POSTGRES_URL =
  process.env['EVENTLOOM_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Why Postgres tests cannot run here, or undefined when they can. Outside CI a missing server
 * skips them (with this message); in CI (`CI=true`) they must run, so the caller fails instead.
 */
export async function postgresUnavailable(url = TEST_POSTGRES_URL): Promise<string | undefined> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => undefined });
  try {
    await sql`SELECT 1`;
    return undefined;
  } catch (error) {
    return `Postgres at ${url.replace(/\/\/[^@]*@/, '//…@')} is unreachable (${String(error)}): set EVENTLOOM_TEST_POSTGRES_URL`;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/** A database of its own for one test run: `url` to connect, `drop()` to remove it (and its connections). */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates a uniquely named, empty database on the test server. */
export async function createTestDatabase(prefix = 'eventloom_test'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
  };
}

/**
 * A source of fresh, empty logs in one database of their own (created on first use): each call
 * of `next()` names a new schema. `drop()` removes the database.
 */
export function testSchemas(prefix = 'eventloom_test'): {
  next(): Promise<{ url: string; schema: string }>;
  drop(): Promise<void>;
} {
  let db: Promise<TestDatabase> | undefined;
  let n = 0;
  return {
    async next() {
      db ??= createTestDatabase(prefix);
      return { url: (await db).url, schema: `log_${++n}` };
    },
    async drop() {
      if (db !== undefined) await (await db).drop();
    },
  };
}

/**
 * Whether this run must have Postgres: in CI a missing server fails the suite, elsewhere it skips
 * it with `why`. Returns true when the tests should run.
 */
export function requirePostgres(why: string | undefined): boolean {
  if (why === undefined) return true;
  if (process.env['CI'] === 'true') throw new Error(`CI needs Postgres for these tests: ${why}`);
  console.warn(`skipping Postgres tests: ${why}`);
  return false;
}
