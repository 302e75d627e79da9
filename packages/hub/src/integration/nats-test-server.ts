import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';

/** The NATS server (with JetStream) tests use: `EVENTLOOM_TEST_NATS_URL`, else the local one. */
export const TEST_NATS_URL = process.env['EVENTLOOM_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** The nats-server binary tests start their own servers with (Debian's `nats-server` package). */
export const NATS_SERVER_BIN = process.env['EVENTLOOM_NATS_SERVER'] ?? '/usr/sbin/nats-server';

/** Why NATS tests cannot run here, or undefined when they can. */
export async function natsUnavailable(url = TEST_NATS_URL): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: url, timeout: 3_000, reconnect: false });
    await nc.close();
    return undefined;
  } catch (error) {
    return `NATS at ${url} is unreachable (${String(error)}): set EVENTLOOM_TEST_NATS_URL`;
  }
}

/**
 * Whether this run must have NATS: in CI a missing server fails the suite, elsewhere it skips it
 * with `why`. Returns true when the tests should run.
 */
export function requireNats(why: string | undefined): boolean {
  if (why === undefined) return true;
  if (process.env['CI'] === 'true') throw new Error(`CI needs NATS JetStream for these tests: ${why}`);
  console.warn(`skipping NATS tests: ${why}`);
  return false;
}

/** A name no other test run uses (streams, consumers, subjects): `<prefix>_<time>_<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** A nats-server of a test's own (JetStream on, its own store folder, a free port on 127.0.0.1). */
export interface OwnNatsServer {
  readonly url: string;
  /** SIGTERM, then wait for the exit; the store folder stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  start(): Promise<void>;
  /** Stops it and removes its store folder. */
  dispose(): Promise<void>;
}

/**
 * Starts a nats-server process of the test's own, so that a test can stop and restart NATS
 * without touching the machine's shared server.
 */
export async function startOwnNatsServer(): Promise<OwnNatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'eventloom-nats-'));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(NATS_SERVER_BIN, ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
      try {
        const nc = await connect({ servers: url, timeout: 500, reconnect: false });
        await nc.close();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`nats-server did not start on ${url}: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
      setTimeout(() => running.kill('SIGKILL'), 5_000).unref();
    });
  };
  await start();
  return {
    url,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
