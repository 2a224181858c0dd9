// What the cluster tests share: the ids an OpenSearch index holds, and a coded rejection.
import assert from 'node:assert/strict';
import { isSemsearchError, type ErrorCode } from '../../errors.js';
import { OpenSearchConnection } from '../connection.js';

/** Every `_id` of an OpenSearch index, sorted, once the index is refreshed (tests hold at most 10,000). */
export async function remoteIds(url: string, indexName: string): Promise<string[]> {
  const conn = new OpenSearchConnection({ url });
  try {
    await conn.request('POST', `/${indexName}/_refresh`);
    const r = await conn.request<{ hits: { hits: { _id: string }[] } }>('POST', `/${indexName}/_search`, { size: 10000, _source: false, query: { match_all: {} } });
    return r.body.hits.hits.map((h) => h._id).sort();
  } finally {
    await conn.close();
  }
}

/** The promise rejects with a SemsearchError of this code, its message matching the pattern when one is given. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSemsearchError(e), `expected a SemsearchError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern !== undefined) assert.match(e.message, pattern);
    return true;
  });
}
