// What `--chunk` buys and costs on long documents: NDCG@10 of full retrieval through an index built with and
// without it, the build time and the index size. Two collections from ../shared (read in place; what is written
// goes to --out, never into the repository):
//
// - "dl19-docs": documents made of whole MS MARCO passages. The 4,102 passages of
//   msmarco-passage-dl19-relevant-subset (every passage TREC DL 2019 judged relevant) are shuffled with a fixed
//   seed and joined, --per-doc at a time, as paragraphs (blank lines between) into one document each. A document's
//   grade for a query is the highest grade (qrels.dl19-passage.txt, 1–3) any of its passages has: judgments carried
//   over by passage id. The 43 DL19 queries. Such a document is ~4× the model's 256-token window.
// - "cranfield": the 1,400 Cranfield records as semsearch reads them (title and abstract), 225 queries, cranqrel.
//
// Usage: node --conditions=source --import tsx bench/chunk-eval.ts -m <model folder> --out <dir> [--threads 2] [--per-doc 8] [--only dl19-docs|cranfield]
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/encoder/load-model.js';
import { runEvaluation } from '../src/eval/run-evaluation.js';
import { buildIndex } from '../src/store/build-index.js';
import { readIndexInfo } from '../src/store/search-index.js';
import { seededRandom } from '../src/tensor/random.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', short: 'm' },
    out: { type: 'string' },
    threads: { type: 'string', default: '2' },
    'per-doc': { type: 'string', default: '8' },
    only: { type: 'string' },
    data: { type: 'string' },
  },
});
if (values.model === undefined || values.out === undefined) throw new Error('usage: bench/chunk-eval.ts -m <model folder> --out <dir>');
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DATA = resolve(values.data ?? process.env['SEMSEARCH_DATA'] ?? join(ROOT, '..', 'shared', 'data'));
const out = resolve(values.out);
mkdirSync(out, { recursive: true });
const threads = Number(values.threads);
const perDoc = Number(values['per-doc']);

interface Collection {
  name: string;
  corpus: string;
  queries: string;
  qrels: string;
  description: string;
}

/** dl19-docs: whole passages joined into documents, grades carried over by passage id (see the header). */
function composeDl19(): Collection {
  const dir = join(DATA, 'msmarco-passage-dl19-relevant-subset');
  const passages = readFileSync(join(dir, 'collection.tsv'), 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\t') as [string, string]);
  const random = seededRandom(2019);
  for (let i = passages.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [passages[i], passages[j]] = [passages[j] as [string, string], passages[i] as [string, string]];
  }
  const docOf = new Map<string, string>();
  const docs: { _id: string; title: string; text: string }[] = [];
  for (let d = 0; d * perDoc < passages.length; d++) {
    const id = `D${String(d).padStart(4, '0')}`;
    const part = passages.slice(d * perDoc, (d + 1) * perDoc);
    for (const [pid] of part) docOf.set(pid, id);
    docs.push({ _id: id, title: '', text: part.map(([, t]) => t.trim()).join('\n\n') });
  }
  // BEIR jsonl, as a tsv passage cannot hold the blank lines between the passages.
  const corpus = join(out, 'dl19-docs.jsonl');
  writeFileSync(corpus, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const grades = new Map<string, number>();
  for (const line of readFileSync(join(DATA, 'msmarco-passage-topics-qrels', 'qrels.dl19-passage.txt'), 'utf8').split('\n')) {
    const [qid, , pid, g] = line.trim().split(/\s+/);
    if (qid === undefined || pid === undefined || g === undefined) continue;
    const doc = docOf.get(pid);
    if (doc === undefined) continue;
    const key = `${qid} ${doc}`;
    grades.set(key, Math.max(grades.get(key) ?? 0, Number(g)));
  }
  const qrels = join(out, 'dl19-docs.qrels');
  writeFileSync(qrels, [...grades].map(([k, g]) => `${k.split(' ')[0]} 0 ${k.split(' ')[1]} ${g}`).join('\n') + '\n');
  return {
    name: 'dl19-docs',
    corpus,
    queries: join(dir, 'queries.tsv'),
    qrels,
    description: `${docs.length} documents of ${perDoc} whole DL19-judged MS MARCO passages each (seeded shuffle), grades carried over by passage id (max), 43 DL19 queries`,
  };
}

function cranfield(): Collection {
  const dir = join(DATA, 'cranfield');
  return { name: 'cranfield', corpus: join(dir, 'cran.all.1400'), queries: join(dir, 'cran.qry'), qrels: join(dir, 'cranqrel'), description: '1,400 Cranfield records (title and abstract), 225 queries, cranqrel' };
}

const model = await loadModel(values.model, { threads });
const results: Record<string, unknown>[] = [];
try {
  const collections = [composeDl19(), cranfield()].filter((c) => values.only === undefined || c.name === values.only);
  for (const c of collections) {
    for (const chunk of [false, true]) {
      const dir = join(out, `${c.name}-${chunk ? 'chunk' : 'plain'}`);
      const t0 = performance.now();
      // Cranfield holds 2 empty records, skipped and counted as semsearch index --skip-bad does.
      const built = await buildIndex({ corpus: c.corpus, out: dir, model, modelRef: values.model, skipBad: true, ...(chunk ? { chunk: true } : {}) });
      const buildSeconds = (performance.now() - t0) / 1000;
      const info = readIndexInfo(dir);
      const ev = await runEvaluation({ task: { name: c.name, index: dir, queries: c.queries, qrels: c.qrels }, model });
      const s = ev.report.trec.summary;
      const row = {
        collection: c.name,
        description: c.description,
        chunk,
        documents: built.manifest.documents ?? built.manifest.count,
        rows: built.manifest.count,
        long: built.long,
        buildSeconds: Number(buildSeconds.toFixed(1)),
        vectorBytes: info.vectorBytes,
        docStoreBytes: info.docStoreBytes,
        ndcg10: s['ndcg_cut_10'],
        recall100: s['recall_100'],
        map: s['map'],
        queries: ev.report.counts.trecEvaluated,
        relevanceLevel: ev.relevanceLevel,
      };
      results.push(row);
      console.log(JSON.stringify(row));
    }
  }
} finally {
  await model.dispose();
}
writeFileSync(join(out, 'results.json'), JSON.stringify({ model: values.model, threads, perDoc, date: new Date().toISOString(), results }, null, 1) + '\n');
