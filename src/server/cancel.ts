// Stopping a request's work once it is in a worker thread. The HTTP thread cannot reach the worker's objects, and a
// worker busy in a long re-ranking may not read its messages until the end: each request carries one Int32 in a
// SharedArrayBuffer (posted to the worker shared, not copied) that the HTTP thread sets and the worker reads with
// Atomics.load between batches. A read costs nanoseconds; a batch costs milliseconds.
import { SemsearchError, type CancelSignal } from '../errors.js';

/** Why a request was stopped: its client hung up, or its deadline passed. */
export type CancelReason = 'client_gone' | 'deadline';

const CODE: Record<CancelReason, number> = { client_gone: 1, deadline: 2 };

/** The coded error a stopped request fails with (CLIENT_GONE 499, DEADLINE_EXCEEDED 504). */
export function cancelError(reason: CancelReason, timeoutMs?: number): SemsearchError {
  return reason === 'client_gone'
    ? new SemsearchError('CLIENT_GONE', 'the client closed the connection; its request was stopped')
    : new SemsearchError(
        'DEADLINE_EXCEEDED',
        `the request ran past its deadline${timeoutMs !== undefined ? ` of ${timeoutMs} ms` : ''} and was stopped; ask for less (fewer queries, a smaller rerank_depth) or a longer timeout_ms, up to the server's --request-timeout-ms`,
        { field: 'timeout_ms' },
      );
}

/** The HTTP thread's side: one flag per request, set once. */
export class CancelFlag {
  /** The shared cell, posted to the worker with the job. */
  readonly cell = new Int32Array(new SharedArrayBuffer(4));

  /** Set the flag; the first reason wins. Returns whether this call set it. */
  set(reason: CancelReason): boolean {
    return Atomics.compareExchange(this.cell, 0, 0, CODE[reason]) === 0;
  }
}

/** The worker's side: the flag as a CancelSignal the library reads between batches. */
export function flagSignal(cell: Int32Array): CancelSignal {
  return {
    get aborted(): boolean {
      return Atomics.load(cell, 0) !== 0;
    },
    get reason(): unknown {
      const v = Atomics.load(cell, 0);
      return v === 0 ? undefined : cancelError(v === CODE.client_gone ? 'client_gone' : 'deadline');
    },
  };
}

/** A signal aborted once every one of `signals` is (work shared by several requests stops when none still wants it). */
export function allAborted(signals: readonly (CancelSignal | undefined)[]): CancelSignal | undefined {
  if (signals.length === 0 || signals.some((s) => s === undefined)) return undefined;
  const all = signals as readonly CancelSignal[];
  if (all.length === 1) return all[0];
  return {
    get aborted(): boolean {
      return all.every((s) => s.aborted);
    },
    get reason(): unknown {
      return all.every((s) => s.aborted) ? (all[0] as CancelSignal).reason : undefined;
    },
  };
}
