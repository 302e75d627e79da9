import { describe, expect, it } from 'vitest';
import { openStreamsExceptCommands, parseStreamRules, streamRules } from './stream-rules.ts';

const alice = { sub: 'alice', iss: 'https://id.example' };
const ctx = (claims: Record<string, unknown> = {}, kind?: string) => ({
  claims,
  ...(kind === undefined ? {} : { kind }),
});

describe('streamRules', () => {
  const authorize = streamRules([
    { streams: ['user:{sub}:*'] },
    { when: { role: 'member' }, streams: ['board:{claim:team}:*'], actions: ['pull', 'subscribe', 'push'] },
    { when: { roles: 'ops' }, streams: ['orders:*'], actions: ['push'], kinds: ['command', 'integration'] },
  ]);

  it('grants a principal its own streams, and nobody else’s', () => {
    expect(authorize(alice, 'push', 'user:alice:notes', ctx({}, 'domain'))).toBe(true);
    expect(authorize(alice, 'pull', 'user:bob:notes', ctx())).toBe(false);
    expect(authorize(alice, 'subscribe', 'user:alice:*', ctx())).toBe(true);
    expect(authorize(alice, 'subscribe', '*', ctx())).toBe(false);
  });

  it('matches claims, and list claims by membership', () => {
    expect(authorize(alice, 'pull', 'board:red:1', ctx({ role: 'member', team: 'red' }))).toBe(true);
    expect(authorize(alice, 'pull', 'board:blue:1', ctx({ role: 'member', team: 'red' }))).toBe(false);
    expect(authorize(alice, 'pull', 'board:red:1', ctx({ role: 'guest', team: 'red' }))).toBe(false);
    expect(authorize(alice, 'notify', 'board:red:1', ctx({ role: 'member', team: 'red' }))).toBe(false);
    expect(authorize(alice, 'push', 'orders:1', ctx({ roles: ['ops'] }, 'command'))).toBe(true);
  });

  it('refuses command and integration pushes unless a rule names the kind', () => {
    expect(authorize(alice, 'push', 'user:alice:x', ctx({}, 'integration'))).toBe(false);
    expect(authorize(alice, 'push', 'user:alice:x', ctx({}, 'command'))).toBe(false);
    expect(authorize(alice, 'push', 'orders:1', ctx({ roles: ['ops'] }, 'domain'))).toBe(false);
    expect(openStreamsExceptCommands(alice, 'push', 'x', ctx({}, 'integration'))).toBe(false);
    expect(openStreamsExceptCommands(alice, 'push', 'x', ctx({}, 'domain'))).toBe(true);
  });

  it('lets no claim value widen a pattern', () => {
    expect(authorize({ sub: '*' }, 'pull', 'user:bob:x', ctx())).toBe(false);
    expect(authorize(alice, 'pull', 'board::1', ctx({ role: 'member' }))).toBe(false);
  });

  it('asks the hook for what no rule grants', async () => {
    const hooked = streamRules([], (p, action) => action === 'pull' && p.sub === 'alice');
    expect(await hooked(alice, 'pull', 'anything', ctx())).toBe(true);
    expect(await hooked(alice, 'push', 'anything', ctx({}, 'domain'))).toBe(false);
  });

  it('refuses malformed rules with the rule’s index', () => {
    expect(() => parseStreamRules({ rules: [{ streams: [] }] })).toThrow(/rules\[0\]/);
    expect(() => parseStreamRules([{ streams: ['a'], actions: ['delete'] }])).toThrow(/actions/);
    expect(() => parseStreamRules([{ streams: ['a'], extra: 1 }])).toThrow(/unknown key/);
    expect(() => parseStreamRules('nope')).toThrow(/list of rules/);
    expect(parseStreamRules({ rules: [{ streams: ['*'] }] })).toHaveLength(1);
  });
});
