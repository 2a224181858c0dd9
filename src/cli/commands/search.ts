import { createInterface } from 'node:readline';
import { SemsearchError } from '../../errors.js';
import { FUSION_METHODS, SEARCH_MODES } from '../../store/fusion.js';
import { checkFilterBounds, type Filter } from '../../store/filter.js';
import type { IndexHit } from '../../store/searcher.js';
import type { CrossEncoder } from '../../encoder/cross-encoder.js';
import { isRemote, openSearcher } from '../backend.js';
import { defineCommand, type CliIO } from '../command.js';
import { BACKEND_OPTIONS, CROSS_ENCODER_OPTION, DEVICE_OPTION, EF_OPTION, EXACT_OPTION, NPROBE_OPTION, RESCORE_MULTIPLIER_OPTION, deviceOption } from '../options.js';

function printHits(io: CliIO, query: string, hits: (IndexHit & { retrievalScore?: number })[], json: boolean, ms: number): void {
  if (json) {
    io.stdout.write(
      JSON.stringify({
        query,
        ms: Number(ms.toFixed(2)),
        hits: hits.map((h) => ({
          id: h.id,
          score: h.score,
          ...('retrievalScore' in h ? { retrievalScore: h.retrievalScore } : {}),
          text: h.text,
          ...(h.chunk !== undefined ? { chunk: h.chunk } : {}),
          ...(h.metadata !== undefined ? { metadata: h.metadata } : {}),
        })),
      }) + '\n',
    );
    return;
  }
  io.stdout.write(`query: ${query}  (${ms.toFixed(1)} ms)\n`);
  hits.forEach((h, i) => {
    const where = h.chunk !== undefined ? `  [window ${h.chunk.number}, chars ${h.chunk.start}-${h.chunk.end}]` : '';
    io.stdout.write(`${String(i + 1).padStart(3)}. ${h.score.toFixed(4)}  ${h.id}${where}  ${h.text.length > 160 ? `${h.text.slice(0, 157)}...` : h.text}\n`);
    if (h.metadata !== undefined) io.stdout.write(`       ${JSON.stringify(h.metadata)}\n`);
  });
}

/**
 * --where's JSON, parsed, with its depth and size checked at once (before any model or index is loaded); the filter
 * itself is checked against the index's fields when the search runs.
 */
function parseWhere(text: string | undefined): Filter | undefined {
  if (text === undefined) return undefined;
  let filter: unknown;
  try {
    filter = JSON.parse(text);
  } catch (cause) {
    throw new SemsearchError('FILTER_INVALID', `--where is not valid JSON (${(cause as Error).message}); e.g. --where '{"year": {"gte": 2020}}'`, { field: '--where', cause });
  }
  checkFilterBounds(filter, '--where');
  return filter as Filter;
}

/** `semsearch search <index> "query" [-k 10] [--json]`; with no query, an interactive prompt. */
export const searchCommand = defineCommand({
  name: 'search',
  usage: 'usage: semsearch search <index-dir> ["query" ...]\n       semsearch search --backend opensearch --url <url> --index-name <name> ["query" ...]',
  options: {
    k: { type: 'number', short: 'k', description: 'hits per query (default 10)', positiveInteger: true },
    exact: EXACT_OPTION,
    ef: EF_OPTION,
    nprobe: NPROBE_OPTION,
    'rescore-multiplier': RESCORE_MULTIPLIER_OPTION,
    mode: { type: 'string', description: 'vector (default), keyword (BM25) or hybrid (both, fused)', choices: SEARCH_MODES },
    fusion: { type: 'string', description: 'hybrid: rrf (default) or weighted', choices: FUSION_METHODS },
    'vector-weight': { type: 'number', description: 'hybrid --fusion weighted: the vector score\'s weight, 0-1 (default 0.5)' },
    'cross-encoder': {
      ...CROSS_ENCODER_OPTION,
      description: 're-rank the top --rerank-depth hits with this cross-encoder (folder or hub name, e.g. cross-encoder/ms-marco-MiniLM-L6-v2); scores are then its own',
      deprecated: ['rerank'],
    },
    'rerank-depth': { type: 'number', description: 'hits retrieved per query for the cross-encoder to re-rank (default 100)', positiveInteger: true },
    'chunk-score': { type: 'string', description: "chunked indexes: a document's score is its best window's (max, default) or the sum of its best --sum-chunks windows' (sum)", choices: ['max', 'sum'] },
    'sum-chunks': { type: 'number', description: '--chunk-score sum: windows summed per document (default 3)', positiveInteger: true },
    where: { type: 'string', description: 'a metadata filter as JSON: {"year": {"gte": 2020}}, {"lang": {"in": ["en", "de"]}}, {"and": [...]}, {"or": [...]}, {"not": {...}}' },
    device: DEVICE_OPTION,
    ...BACKEND_OPTIONS,
  },
  args: [{ name: 'index' }, { name: 'query', variadic: true }],
  async run({ values, args, json, io }) {
    // With an OpenSearch backend there is no folder: every argument is a query.
    const remote = isRemote(values);
    const dir = remote ? undefined : args[0];
    if (!remote && dir === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'search needs an index folder', { field: 'index' });
    const k = values.k ?? 10;
    const queries = remote ? args : args.slice(1);
    const blank = queries.findIndex((q) => q.trim() === '');
    if (blank >= 0) throw new SemsearchError('INVALID_ARGUMENT', `query ${blank + 1} is empty; give a question to search for`, { field: 'query' });
    const filter = parseWhere(values.where);
    if (values['rerank-depth'] !== undefined && values['cross-encoder'] === undefined) throw new SemsearchError('INVALID_ARGUMENT', '--rerank-depth is the depth of --cross-encoder <model>', { field: '--rerank-depth' });
    const depth = Math.max(k, values['rerank-depth'] ?? 100);
    const onWarning = (m: string): void => void io.stderr.write(`semsearch search: warning: ${m}\n`);
    // Loaded first: a cross-encoder that cannot be loaded or cannot re-rank is refused before the index is opened.
    let reranker: CrossEncoder | undefined;
    const ceName = values['cross-encoder'];
    if (ceName !== undefined) {
      const { loadCrossEncoder } = await import('../../encoder/cross-encoder.js');
      reranker = await loadCrossEncoder(ceName, { onWarning, ...deviceOption(values) });
      if (reranker.numLabels !== 1) {
        await reranker.dispose();
        throw new SemsearchError('UNSUPPORTED_MODEL', `--cross-encoder needs a cross-encoder with one output (a relevance score); ${ceName} has ${reranker.numLabels}`, { field: '--cross-encoder' });
      }
    }
    const index = await openSearcher(values, dir, { onWarning, ...deviceOption(values) }).catch(async (e: unknown) => {
      await reranker?.dispose();
      throw e;
    });
    try {
      const rerankHits = reranker !== undefined ? (await import('../../rerank/rerank-hits.js')).rerankHits : undefined;
      const ask = async (q: string): Promise<void> => {
        const t = performance.now();
        const [found] = await index.search([q], reranker !== undefined ? depth : k, {
          exact: values.exact === true,
          ...(values.ef !== undefined ? { ef: values.ef } : {}),
          ...(values.nprobe !== undefined ? { nprobe: values.nprobe } : {}),
          ...(values['rescore-multiplier'] !== undefined ? { rescoreMultiplier: values['rescore-multiplier'] } : {}),
          ...(values.mode !== undefined ? { mode: values.mode } : {}),
          ...(values.fusion !== undefined ? { fusion: values.fusion } : {}),
          ...(values['vector-weight'] !== undefined ? { vectorWeight: values['vector-weight'] } : {}),
          ...(filter !== undefined ? { filter } : {}),
          ...(values['chunk-score'] !== undefined ? { chunkScore: values['chunk-score'] } : {}),
          ...(values['sum-chunks'] !== undefined ? { sumChunks: values['sum-chunks'] } : {}),
        });
        const hits = reranker !== undefined && rerankHits !== undefined ? ((await rerankHits(reranker, [q], [found ?? []], { k }))[0] ?? []) : (found ?? []);
        printHits(io, q, hits, json, performance.now() - t);
      };
      if (queries.length > 0) {
        for (const q of queries) await ask(q);
        return 0;
      }
      const tty = (io.stdin as NodeJS.ReadStream).isTTY === true;
      const rl = createInterface({ input: io.stdin, terminal: false });
      if (tty) io.stdout.write(`${index.count} ${index.chunked === true ? 'documents' : 'passages'}. Type a query, empty line or Ctrl-D to quit.\n> `);
      for await (const line of rl) {
        const q = line.trim();
        if (q === '') {
          if (tty) break;
          continue;
        }
        await ask(q);
        if (tty) io.stdout.write('> ');
      }
      return 0;
    } finally {
      await index.close();
      await reranker?.dispose();
    }
  },
});
