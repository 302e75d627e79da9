import { decodePush, ErrorCode, type DecodedPushEvent } from '@eventloom/protocol';
import { describe, expect, it } from 'vitest';
import { judgePush, type JudgedPush, type PushJudge } from './push-judge.ts';
import { makeEvent } from './test-kit.ts';

/** The decoded events of a push of `streams`, one event each, of client-a from clientSeq 1. */
function decoded(streams: readonly string[]): { events: readonly DecodedPushEvent[]; raw: unknown[] } {
  const raw = streams.map((stream, i) => makeEvent('client-a', i + 1, { stream }));
  const push = decodePush({ events: raw });
  if (!push.ok) throw new Error(push.error.message);
  return { events: push.value.events, raw };
}

function judgeOf(allowed: PushJudge['allowed']): PushJudge {
  return {
    clientId: 'client-a',
    principal: { sub: 'alice' },
    protocol: 4,
    epoch: 1,
    registry: undefined,
    allowed,
  };
}

/** What a judged push hands the store, in short: each item's stream and refusal code. */
const handed = (judged: JudgedPush) =>
  judged.items.map((item) => `${item.event.stream}:${item.rejection?.code ?? 'commit'}`);

describe('judgePush', () => {
  it('judges in the same turn when every decision is known, and stamps the principal', () => {
    const { events, raw } = decoded(['open:1', 'closed:1']);
    const judged = judgePush(
      judgeOf((_action, stream) => stream.startsWith('open')),
      events,
      raw,
    );
    // Not a promise: the push reaches the sequencer without a microtask hop.
    expect(judged).not.toBeInstanceOf(Promise);
    const sync = judged as JudgedPush;
    expect(handed(sync)).toEqual(['open:1:commit', `closed:1:${ErrorCode.unauthorized}`]);
    expect(sync.slots).toEqual([0, 1]);
    expect(sync.items.map((item) => item.event.meta.principal)).toEqual([{ sub: 'alice' }, { sub: 'alice' }]);
    expect(JSON.parse(sync.items[0]!.envelopeJson!)).toMatchObject({ stream: 'open:1', clientSeq: 1 });
  });

  it('waits for a pending decision, asking for the events after it only once it is known', async () => {
    const asked: string[] = [];
    let answer: ((allowed: boolean) => void) | undefined;
    const judge = judgeOf((_action, stream) => {
      asked.push(stream);
      if (stream !== 'slow:1') return stream !== 'closed:1';
      return new Promise<boolean>((resolve) => (answer = resolve));
    });
    const { events, raw } = decoded(['open:1', 'slow:1', 'closed:1', 'open:2']);
    const judged = judgePush(judge, events, raw);
    expect(judged).toBeInstanceOf(Promise);
    expect(asked).toEqual(['open:1', 'slow:1']);
    answer!(false);
    const done = await judged;
    expect(asked).toEqual(['open:1', 'slow:1', 'closed:1', 'open:2']);
    expect(handed(done)).toEqual([
      'open:1:commit',
      `slow:1:${ErrorCode.unauthorized}`,
      `closed:1:${ErrorCode.unauthorized}`,
      'open:2:commit',
    ]);
    expect(done.slots).toEqual([0, 1, 2, 3]);
    expect(done.items[3]!.envelopeJson).toBeDefined();
  });
});
