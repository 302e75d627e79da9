import type { SagaInstance } from '@eventloom/core';

/** Test fixture: a saga instance `saga/key` (from `id`) with `status`, for the reaction stores' own tests. */
export function sagaInstance(id: string, status: 'active' | 'done'): SagaInstance {
  return {
    id,
    saga: id.split('/')[0]!,
    key: id.split('/')[1]!,
    status,
    state: null,
    version: 1,
    steps: [],
    compensated: [],
    stream: 's',
    trace: { correlationId: 'c', causationId: 'c' },
    startedAt: '2026-11-27T10:00:00.000Z',
    updatedAt: '2026-11-27T10:00:00.000Z',
  };
}
