/**
 * The ingest benchmarks' clients: devices in a child process of their own (`hub-ingest-clients.ts`),
 * at nice 19 so that on 2 cores they do not take the hub's CPU, ready before the timed run starts.
 */
import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';

/** Forks the ingest clients (at nice 19) on `urls` (client c on urls[c % n]); `run` pushes everything. */
export async function startIngestClients(
  urls: readonly string[],
  clients: number,
  perClient: number,
  batch: number,
): Promise<{ run(): Promise<number> }> {
  const script = fileURLToPath(new URL('./hub-ingest-clients.ts', import.meta.url));
  const child = fork(script, [urls.join(','), String(clients), String(perClient), String(batch)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  if (child.pid !== undefined) setPriority(child.pid, 19);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`ingest clients exited early (${code})`)));
  });
  return {
    run: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m) => resolve((m as { acked: number }).acked));
        child.send('start');
      }),
  };
}
