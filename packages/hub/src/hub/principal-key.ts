import type { Principal } from '@eventloom/protocol';

/**
 * The key a client id is bound to in the store: the JSON text of `[iss, sub]` (`iss` null when the
 * principal has none). Collision-free: no two principals share a key, whatever characters their
 * `iss` and `sub` hold (`{ sub: 'a|b' }` and `{ iss: 'a', sub: 'b' }` differ).
 *
 * @example
 * principalKey({ iss: 'https://id.example', sub: 'alice' }); // '["https://id.example","alice"]'
 */
export function principalKey(principal: Principal): string {
  return JSON.stringify([principal.iss ?? null, principal.sub]);
}
