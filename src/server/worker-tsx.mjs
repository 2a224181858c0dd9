// Run from the TypeScript sources (tests, tsx), a worker thread gets no loader hooks from its parent in
// Node 20: register tsx, then load the worker. A real file, not eval code: native modules that find their
// binaries from the caller's file name (usearch through `bindings`) spin forever on an eval frame.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
