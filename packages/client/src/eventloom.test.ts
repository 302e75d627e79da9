import { IDBKeyRange, indexedDB } from 'fake-indexeddb';
import { describeEventloom } from './testing/describe-eventloom.ts';

// The same behaviour as in Chromium (eventloom.browser.test.ts), on fake-indexeddb in Node.
describeEventloom('Node on fake-indexeddb', { indexedDB, IDBKeyRange });
