import { MemoryClientStore } from './memory-client-store.ts';
import { describeClientStore } from './testing/describe-client-store.ts';

describeClientStore('memory', (name) => new MemoryClientStore({ name }));
