// Type-checked as a consumer would (moduleResolution bundler, then nodenext): every published
// entry point, with types flowing from the definitions into projections and hooks.
import { ErrorCode, PROTOCOL_VERSION, type EventEnvelope } from '@eventloom/protocol';
import { RefusedInBatch, type RejectionCode } from '@eventloom/protocol/codes';
import { createRegistry, defineEvent, defineProjection, type EventMapOf } from '@eventloom/core';
import { createEventloom, createSync, type ClientError, type SyncState } from '@eventloom/client';
import { createHub, createSqliteStore, insecureDevAuthenticator } from '@eventloom/hub';
import { createHubReactions, createSqliteReactionStore } from '@eventloom/hub/reactions';
import { createWebhookVerifier, memoryReplayStore } from '@eventloom/hub/webhooks';
import { parseHubServerConfig, startHubServer } from '@eventloom/hub-server';
import { main as cli } from '@eventloom/cli';
import { useProjection, useEvents, EventloomProvider } from '@eventloom/react';
import { z } from 'zod';

const NoteAdded = defineEvent('note.added', { 1: z.object({ text: z.string() }) });
const registry = createRegistry([NoteAdded]);
const count = defineProjection<number, EventMapOf<typeof NoteAdded>>({
  name: 'count',
  version: 1,
  initial: 0,
  on: { 'note.added': (n, e) => n + e.data.text.length },
});

export async function run(): Promise<void> {
  const loom = await createEventloom({ name: 'check', registry, projections: [count] });
  const appended: EventEnvelope = await loom.append('notes:1', NoteAdded.create({ text: 'typed' }));
  // @ts-expect-error: `text` must be a string
  NoteAdded.create({ text: 1 });
  const sync = createSync(loom, { url: 'http://127.0.0.1:8080', subscriptions: ['notes:*'] });
  const state: SyncState = 'live';
  const code: ClientError['code'] = 'invalid';
  const hub = await createHub({
    store: await createSqliteStore({ path: ':memory:' }),
    auth: insecureDevAuthenticator(),
    port: 0,
  });
  const reactions = await createHubReactions({
    hub,
    reactionStore: createSqliteReactionStore({ path: ':memory:' }),
    handlers: [],
  });
  await reactions.stop();
  const verifier = createWebhookVerifier({
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    replayStore: memoryReplayStore(),
  });
  const rejection: RejectionCode = 'wrong-expected-version';
  console.log(typeof verifier, rejection, new RefusedInBatch() instanceof RefusedInBatch);
  const parsed = parseHubServerConfig(['--insecure-dev'], {});
  if (parsed.ok && !parsed.help) await (await startHubServer(parsed.config)).close();
  const exit: number = await cli(['--help']);
  console.log(appended.clientSeq, state, code, ErrorCode.invalid, PROTOCOL_VERSION, exit, sync.clientId);
  await hub.close();
}

export function Count(): number {
  const n: number = useProjection(count);
  const events = useEvents('notes:1', [NoteAdded]);
  const text: string | undefined = events[0]?.data.text;
  return n + (text?.length ?? 0) + EventloomProvider.length;
}
