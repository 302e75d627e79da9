import { describe, expect, it } from 'vitest';
import { principalKey } from './principal-key.ts';

describe('principalKey', () => {
  it('tells apart principals that `iss|sub` confused', () => {
    expect(principalKey({ sub: 'tenantA|alice' })).not.toBe(principalKey({ iss: 'tenantA', sub: 'alice' }));
    expect(principalKey({ iss: 'a|b', sub: 'c' })).not.toBe(principalKey({ iss: 'a', sub: 'b|c' }));
    expect(principalKey({ sub: 'null' })).not.toBe(principalKey({ iss: 'null', sub: 'null' }));
  });

  it('is stable for one principal', () => {
    expect(principalKey({ iss: 'https://id.example', sub: 'alice' })).toBe('["https://id.example","alice"]');
    expect(principalKey({ sub: 'alice' })).toBe('[null,"alice"]');
  });
});
