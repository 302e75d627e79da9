/**
 * Test support: runs `eventloom-hub` as a child process and talks to it with socket.io-client.
 * Not exported from the package entry point.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { EventEnvelope } from '@eventloom/protocol';
import { SignJWT } from 'jose';
import { HUB_BIN, spawnHubProcess, type HubProcess } from './spawn-hub-process.ts';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';

export { HUB_BIN, type HubProcess } from './spawn-hub-process.ts';
export const SECRET = 'child-process-secret-at-least-32-bytes!!';

/** Runs the command with `args` in a bare environment (PATH and `env`), once it listens. */
export function spawnHub(args: readonly string[], env: Record<string, string> = {}): Promise<HubProcess> {
  return spawnHubProcess(args, { env: { PATH: process.env['PATH'] ?? '', ...env } });
}

/** The flags of a hub on 127.0.0.1 and an ephemeral port over `db`, verifying {@link SECRET}, then `extra`. */
export function hubArgs(db: string, extra: readonly string[] = []): string[] {
  return ['--port', '0', '--host', '127.0.0.1', '--db', db, '--jwt-secret', SECRET, ...extra];
}

/** Kills `hub` with SIGKILL unless it has exited already, and waits for its exit (a test's cleanup). */
export async function killHub(hub: HubProcess): Promise<void> {
  if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGKILL');
  await hub.exited;
}

/** Runs the command to its end and returns its exit code and output. */
export async function runHub(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | string; output: string }> {
  const child = spawn(process.execPath, [HUB_BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const code = await new Promise<number | string>((resolve) =>
    child.once('exit', (c, s) => resolve(c ?? s ?? 'unknown')),
  );
  return { code, output };
}

/** A token for `sub`, signed with {@link SECRET}, valid for an hour. */
export function tokenFor(sub: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
}

/** Connects a socket.io-client (WebSocket only, no automatic reconnection). */
export function connectTo(url: string, token: string): Promise<ClientSocket> {
  const socket = connect(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token },
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** Sends a request; rejects if the socket disconnects before the ack (a crash), or after 20 s. */
export function call<T>(socket: ClientSocket, name: string, payload: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onDisconnect = () => reject(new Error('disconnected'));
    socket.once('disconnect', onDisconnect);
    (socket.timeout(20_000).emitWithAck(name, payload) as Promise<T>).then(
      (answer) => {
        socket.off('disconnect', onDisconnect);
        resolve(answer);
      },
      (error: unknown) => {
        socket.off('disconnect', onDisconnect);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** A fresh random UUIDv7. */
export function newEventId(): string {
  const hex = randomBytes(16).toString('hex');
  const variant = '89ab'[Number.parseInt(hex[16]!, 16) % 4]!;
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${hex.slice(0, 3)}-${variant}${hex.slice(3, 6)}-${hex.slice(6, 18)}`;
}

/** A valid envelope of `clientId` at `clientSeq`. */
export function eventOf(clientId: string, clientSeq: number, stream = 'list:1'): EventEnvelope {
  return {
    id: newEventId(),
    type: 'todo.added',
    version: 1,
    kind: 'domain',
    stream,
    data: { title: `${clientId} #${clientSeq}` },
    meta: {},
    clientId,
    clientSeq,
    hlc: `${String(1_732_700_000_000 + clientSeq).padStart(15, '0')}-0000000000-${clientId}`,
  };
}
