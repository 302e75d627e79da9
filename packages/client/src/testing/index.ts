export { describeClientStore } from './describe-client-store.ts';
export {
  TodoAdded,
  TodoDone,
  NoteWritten,
  todoRegistry,
  todoList,
  todoCount,
  openByList,
  foldOrder,
  todoDecider,
  confirm,
  confirmAll,
  type Todo,
  type TodoEvents,
  type TodoCommand,
} from './todo-model.ts';
export { BATCH, N, dbName, todoInput, committedEvents } from './bench-events.ts';
export { bindSyncPort, syncPortOf } from '../sync-port-access.ts';
export { PowerCut, powerCutDexieStore, type CutReport } from './power-cut.ts';
