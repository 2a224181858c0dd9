import { SemsearchError } from '../errors.js';
import { isTransient, reasonOf, type OpenSearchConnection } from './connection.js';

/** One bulk operation: index (create or replace) a document by id, or delete one. */
export type BulkOp = { op: 'index'; id: string; source: string } | { op: 'delete'; id: string };

export interface BulkOptions {
  /** 'wait_for': answer once the writes are searchable (single writes); false: leave refresh to the index (bulk loads). */
  refresh?: 'wait_for' | false;
  /** How long transient failures (a node restarting, a full queue) are retried before BACKEND_UNAVAILABLE (default 120 s). */
  retryForMs?: number;
  /** Told of each retry, with the count of operations retried and why. */
  onRetry?: (ops: number, reason: string) => void;
}

interface BulkItem {
  index?: { _id: string; status: number; error?: unknown; result?: string };
  delete?: { _id: string; status: number; error?: unknown; result?: string };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Send operations with `_bulk` until every one is acknowledged. The ids are the documents' own, so an operation sent
 * twice (a retry, or a push resumed after a crash) leaves one copy. Items that fail transiently (429, 503, a shard
 * whose node is down) are resent, with backoff, until `retryForMs`; an item the cluster refuses for good (a mapping
 * error) stops the load with BACKEND_ERROR naming the document. Resolves with the results by id ('created',
 * 'updated', 'deleted', 'not_found').
 */
export async function bulkWrite(conn: OpenSearchConnection, index: string, ops: readonly BulkOp[], o: BulkOptions = {}): Promise<Map<string, string>> {
  const results = new Map<string, string>();
  const deadline = Date.now() + (o.retryForMs ?? 120_000);
  let pending = ops;
  let wait = 250;
  const header = (op: BulkOp): string => JSON.stringify({ [op.op]: { _index: index, _id: op.id } });
  while (pending.length > 0) {
    const body = pending.map((op) => (op.op === 'index' ? `${header(op)}\n${op.source}\n` : `${header(op)}\n`)).join('');
    let items: BulkItem[] | undefined;
    let why = '';
    try {
      // A bulk waits at most this long for a shard whose primary is missing, instead of the default minute.
      const query: Record<string, string> = { timeout: '10s', ...(o.refresh === 'wait_for' ? { refresh: 'wait_for' } : {}) };
      const r = await conn.request<{ errors: boolean; items: BulkItem[] }>('POST', '/_bulk', undefined, { ndjson: body, query });
      items = r.body.items;
    } catch (e) {
      if (!(e instanceof SemsearchError) || e.code !== 'BACKEND_UNAVAILABLE') throw e;
      why = e.message;
    }
    let retry: BulkOp[] = [];
    if (items === undefined) retry = [...pending];
    else {
      items.forEach((item, i) => {
        const r = item.index ?? item.delete;
        const op = pending[i] as BulkOp;
        if (r === undefined) throw new SemsearchError('BACKEND_ERROR', `OpenSearch at ${conn.url} answered a bulk request with an item semsearch cannot read`, { field: 'url' });
        if (r.error === undefined || (op.op === 'delete' && r.status === 404)) results.set(op.id, r.result ?? (r.status === 404 ? 'not_found' : 'ok'));
        else if (isTransient(r.status, r.error)) {
          retry.push(op);
          why = reasonOf({ error: r.error });
        } else {
          throw new SemsearchError('BACKEND_ERROR', `OpenSearch at ${conn.url} refused document ${op.id} of index ${index} (HTTP ${r.status}): ${reasonOf({ error: r.error })}`, { field: 'documents' });
        }
      });
    }
    if (retry.length === 0) break;
    if (Date.now() + wait > deadline) {
      throw new SemsearchError('BACKEND_UNAVAILABLE', `OpenSearch at ${conn.url} still refused ${retry.length} of ${ops.length} operations on ${index} after retrying: ${why}`, { field: 'url' });
    }
    o.onRetry?.(retry.length, why);
    await sleep(wait);
    wait = Math.min(wait * 2, 5000);
    pending = retry;
  }
  return results;
}
