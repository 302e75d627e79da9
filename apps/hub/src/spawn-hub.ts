/**
 * Test support: runs `eventloom-hub` as a child process and talks to it with socket.io-client.
 * Not exported from the package entry point.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventEnvelope } from '@eventloom/protocol';
import { SignJWT } from 'jose';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';

/** The command's entry point, as a user runs it. */
export const HUB_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'eventloom-hub.js');
export const SECRET = 'child-process-secret-at-least-32-bytes!!';

/** A hub child process that announced its URL. */
export interface HubProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Every line it wrote to stdout and stderr so far. */
  readonly output: string[];
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  readonly exited: Promise<number | string>;
}

/** Runs the command with `args` and resolves once it listens (or rejects with its output if it exits). */
export function spawnHub(args: readonly string[], env: Record<string, string> = {}): Promise<HubProcess> {
  const child = spawn(process.execPath, [HUB_BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        const url = listeningUrl(line);
        if (url !== undefined) resolve({ child, url, output, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) =>
      reject(new Error(`eventloom-hub exited (${code}) before listening:\n${output.join('\n')}${buffered}`)),
    );
  });
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

function listeningUrl(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    return entry.msg === 'eventloom-hub listening' ? entry.url : undefined;
  } catch {
    return undefined;
  }
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
