import { join } from 'node:path';
import { loadModelFromDir } from '../src/index.js';
import { readCandidateLists } from '../src/corpus/index.js';
import { evaluateRun, readTrecQrels, rerankCandidates } from '../src/eval/index.js';

export interface QualityResult {
  model: string;
  task: string;
  queries: number;
  passages: number;
  ndcg10: Record<string, number>;
  mrr10: Record<string, number>;
  seconds: Record<string, number>;
  /** fp32 minus int8, in NDCG points (x100). */
  lossPoints: number;
  bm25Ndcg10: number;
}

/**
 * What int8 costs in ranking quality: re-rank the DL19 BM25 top-100 with the real all-MiniLM-L6-v2 in fp32
 * (onnx/model.onnx) and with its qint8 avx512_vnni variant, and score both with trec_eval's NDCG@10 (graded).
 */
export async function measureQuality(modelDir: string, dataDir: string, threads: number, files: { fp32: string; int8: string } & Record<string, string>): Promise<QualityResult> {
  const lists = await readCandidateLists(join(dataDir, 'msmarco-passage-trec-dl-candidates', 'BM25', 'retrieve_results_dl19.json'));
  const top100 = lists.map((l) => ({ ...l, hits: l.hits.slice(0, 100) }));
  const qrels = await readTrecQrels(join(dataDir, 'msmarco-passage-topics-qrels', 'qrels.dl19-passage.txt'));
  const passages = new Set(top100.flatMap((l) => l.hits.map((h) => h.docid))).size;
  const bm25Run = new Map(top100.map((l) => [l.qid, { docids: l.hits.map((h) => h.docid), scores: l.hits.map((h) => h.score) }]));
  const bm25 = evaluateRun(qrels, bm25Run, { relevanceLevel: 2 });
  const ndcg10: Record<string, number> = {};
  const mrr10: Record<string, number> = {};
  const seconds: Record<string, number> = {};
  for (const [label, file] of Object.entries(files)) {
    const model = await loadModelFromDir(modelDir, { onnxFile: file, threads });
    const t = performance.now();
    const run = await rerankCandidates(model, top100);
    seconds[label] = (performance.now() - t) / 1000;
    await model.dispose();
    const report = evaluateRun(qrels, run, { relevanceLevel: 2 });
    ndcg10[label] = report.trec.summary['ndcg_cut_10'] as number;
    mrr10[label] = report.trec.summary['recip_rank'] as number;
  }
  return {
    model: modelDir,
    task: 'TREC DL 2019 passage, BM25 top-100 re-ranked (43 queries), trec_eval ndcg_cut_10 with graded qrels',
    queries: top100.length,
    passages,
    ndcg10,
    mrr10,
    seconds,
    lossPoints: ((ndcg10['fp32'] as number) - (ndcg10['int8'] as number)) * 100,
    bm25Ndcg10: bm25.trec.summary['ndcg_cut_10'] as number,
  };
}
