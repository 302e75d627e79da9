// A plain Vite app, as a front-end developer writes one: an Eventloom in IndexedDB, synced with the
// hub that serves this page, showing the sync state and the notes pending and confirmed.
import { createEventloom, createSync } from '@eventloom/client';
import { createRegistry, defineEvent, defineProjection } from '@eventloom/core';
import { z } from 'zod';

const NoteAdded = defineEvent('note.added', { 1: z.object({ text: z.string().min(1) }) });
const registry = createRegistry([NoteAdded]);
const count = defineProjection({ name: 'count', version: 1, initial: 0, on: { 'note.added': (n) => n + 1 } });

const loom = await createEventloom({ name: 'consumer-app', registry, projections: [count] });
const sync = createSync(loom, { url: location.origin, subscriptions: ['notes:*'] });
const show = (id) => (value) => (document.getElementById(id).textContent = String(value));
sync.syncState$.subscribe(show('state'));
loom.pending$.subscribe((pending) => show('pending')(pending.length));
loom.confirmedProjection$(count).subscribe(show('confirmed'));
await loom.append('notes:1', NoteAdded.create({ text: 'from the browser' }));
