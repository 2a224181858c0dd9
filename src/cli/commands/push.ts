import type { PushProgress } from '../../opensearch/push.js';
import { commandProgress } from '../progress.js';
import { defineCommand } from '../command.js';
import { URL_DESCRIPTION } from '../options.js';

/** `semsearch push <index> --url … --index-name …`: copy a local index into OpenSearch, or bring the copy up to date. */
export const pushCommand = defineCommand({
  name: 'push',
  usage: `usage: semsearch push <index-dir> --url <cluster> --index-name <name>

A new OpenSearch index gets its mapping from the model: knn_vector of its dimension, innerproduct for dot models and
cosinesimil for cos models, the lucene engine's HNSW. Documents keep their passage ids, so nothing sent twice is
duplicated. Progress is checkpointed in the index: after a crash or a node failure, run the same command again and
it resumes. Later runs send only what was added or deleted locally since (all of it after a compact, or --full).
The index must hold float32 or float16 vectors: OpenSearch stores floats, and an int8 or binary index keeps only
approximations of them (build the index to push with --precision float32 or float16).
Search it with: semsearch search --backend opensearch --url <cluster> --index-name <name> "query"`,
  options: {
    url: { type: 'string', description: URL_DESCRIPTION.replace(/^opensearch: /, ''), required: 'push needs --url, the OpenSearch cluster address' },
    'index-name': { type: 'string', description: 'the OpenSearch index to create or update', required: 'push needs --index-name' },
    shards: { type: 'number', description: 'new index: primary shards (default: one per data node)', positiveInteger: true },
    replicas: { type: 'number', description: 'new index: replicas of each shard (default 1 with two or more data nodes, else 0)' },
    m: { type: 'number', description: 'new index: HNSW links per node (default 16)', positiveInteger: true },
    'ef-construction': { type: 'number', description: 'new index: HNSW build expansion (default 100)', positiveInteger: true },
    'batch-size': { type: 'number', description: 'documents per _bulk request (default 500)', positiveInteger: true },
    full: { type: 'boolean', description: 'send every document again and delete what the local index lacks' },
    'checkpoint-seconds': { type: 'number', description: 'seconds between progress checkpoints in the index, from which a push resumes after a crash (default 5; 0: after every batch)' },
  },
  args: [{ name: 'index', required: 'push needs an index folder' }],
  async run({ values, args, json, io }) {
    // Per batch: at a terminal a bar with the rate and ETA, off one a plain line every few seconds (as index).
    const progress = commandProgress(io, 'docs');
    const onProgress = (p: PushProgress): void => {
      if (p.phase === 'refresh') {
        progress.finish();
        io.stderr.write('semsearch push: refreshing\n');
      } else progress.update(p.phase === 'rows' ? 'pushed' : 'deleted', p.done, p.total);
    };
    const { pushIndex } = await import('../../opensearch/push.js');
    const r = await pushIndex(args[0] as string, {
      url: values.url,
      indexName: values['index-name'],
      ...(values.shards !== undefined ? { shards: values.shards } : {}),
      ...(values.replicas !== undefined ? { replicas: values.replicas } : {}),
      ...(values.m !== undefined || values['ef-construction'] !== undefined
        ? { hnsw: { ...(values.m !== undefined ? { m: values.m } : {}), ...(values['ef-construction'] !== undefined ? { efConstruction: values['ef-construction'] } : {}) } }
        : {}),
      ...(values['batch-size'] !== undefined ? { batchSize: values['batch-size'] } : {}),
      ...(values.full === true ? { full: true } : {}),
      ...(values['checkpoint-seconds'] !== undefined ? { checkpointSeconds: values['checkpoint-seconds'] } : {}),
      onProgress,
      onRetry: (ops, why) => io.stderr.write(`semsearch push: retrying ${ops} operations: ${why}\n`),
    });
    if (json) io.stdout.write(JSON.stringify(r) + '\n');
    else
      io.stdout.write(
        `pushed to ${r.indexName} (${r.mode}): ${r.sent} sent, ${r.deleted} deleted in ${r.seconds.toFixed(1)} s (${Math.round(r.docsPerSecond)} docs/s); ${r.remote} documents there, ${r.local} in the local index\n`,
      );
    return 0;
  },
});
