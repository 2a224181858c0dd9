import type { CrossEncoder } from '../../encoder/cross-encoder.js';
import { SemsearchError } from '../../errors.js';
import type { MinePairs } from '../../mine/mine-input.js';
import { MINE_OUTPUT_FORMATS, mineHardNegatives } from '../../mine/mine.js';
import { defineCommand } from '../command.js';
import { BATCH_SIZE_OPTION, CROSS_ENCODER_OPTION, OUT_OPTION, DEVICE_OPTION, MODEL_OPTION, THREADS_OPTION, deviceOption } from '../options.js';
import { checkOutputPath, openOutputFile, writeToStream } from '../output.js';
import { commandProgress } from '../progress.js';

/**
 * `semsearch mine`: hard negatives for training, as sentence-transformers' mine_hard_negatives makes them (the seed's v3
 * recipe with --cross-encoder and a margin). Rows go out as JSONL in sentence-transformers' formats, which
 * `datasets.load_dataset("json", data_files=…)` reads as a training dataset.
 */
export const mineCommand = defineCommand({
  name: 'mine',
  usage:
    'usage: semsearch mine -m <bi-encoder> (--pairs pairs.jsonl|tsv [--corpus <files>] | --queries <file> --qrels <file> --corpus <files>) [-o out.jsonl]\n' +
    '       [--cross-encoder <model>] [--num-negatives 3] [--range-min 0] [--range-max N] [--absolute-margin M] [--relative-margin M]\n' +
    '       [--max-score S] [--min-score S] [--sampling-strategy top|random] [--output-format triplet|n-tuple|labeled-pair|labeled-list] [--output-scores]',
  options: {
    model: MODEL_OPTION,
    pairs: { type: 'string', description: 'the (anchor, positive) pairs: JSONL whose first two fields are them (their names become the columns), or anchor<TAB>positive lines' },
    corpus: { type: 'string', description: 'passage files (any corpus format), comma-separated: more candidate negatives; with --qrels, the passages the judgments name' },
    queries: { type: 'string', description: 'with --qrels: the queries (TREC topics, BEIR queries.jsonl, SMART queries)' },
    qrels: { type: 'string', description: 'judgments: every (query, passage) graded at least --relevance-level is a pair' },
    'relevance-level': { type: 'number', description: "with --qrels: the grade that counts as positive (default 1, trec_eval's; TREC DL uses 2)" },
    'cross-encoder': { ...CROSS_ENCODER_OPTION, description: 'a cross-encoder that rescores the candidates and positives when a margin or --max-score is set (the v3 recipe)' },
    'num-negatives': { type: 'number', description: 'negatives per pair (default 3)', positiveInteger: true },
    'range-min': { type: 'number', description: 'skip this many of the closest candidates (default 0)' },
    'range-max': { type: 'number', description: 'consider candidates up to this rank (default: range-min + num-negatives (x10 with a margin or max-score) + the most positives of an anchor)', positiveInteger: true },
    'absolute-margin': { type: 'number', description: 'drop candidates scored above the positive minus this' },
    'relative-margin': { type: 'number', description: 'drop candidates scored above positive − |positive| x this' },
    'max-score': { type: 'number', description: 'drop candidates scored above this' },
    'min-score': { type: 'number', description: 'drop candidates scored below this' },
    'sampling-strategy': { type: 'string', description: 'top (default): the best candidates left; random: a seeded draw of them', choices: ['top', 'random'] },
    seed: { type: 'number', description: 'the random draw of --sampling-strategy random (default 0)' },
    'include-positives': { type: 'boolean', description: 'keep the positives among the candidates (n-tuple output)' },
    'output-format': { type: 'string', description: 'triplet (default), n-tuple, labeled-pair or labeled-list', choices: MINE_OUTPUT_FORMATS },
    'output-scores': { type: 'boolean', description: 'add the scores (the bi-encoder\'s, or the cross-encoder\'s when it rescored): MarginMSE training data with n-tuple' },
    'query-prompt': { type: 'string', description: 'a prompt before every anchor' },
    'corpus-prompt': { type: 'string', description: 'a prompt before every candidate' },
    'batch-size': BATCH_SIZE_OPTION,
    threads: THREADS_OPTION,
    device: DEVICE_OPTION,
    out: { ...OUT_OPTION, description: 'write the JSONL rows here (default: standard output); checked before anything is read: not a folder, not an input file; written to a temporary file renamed into place at the end' },
  },
  async run({ values, io }) {
    if (values.model === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'mine needs --model <bi-encoder>', { field: '--model' });
    const corpusFiles = values.corpus?.split(',').map((s) => s.trim()).filter((s) => s !== '');
    // Before any input is read or model loaded: a folder, a missing folder or one of the inputs is no place for the rows.
    if (values.out !== undefined) checkOutputPath(values.out, '--out', [values.pairs, values.queries, values.qrels, ...(corpusFiles ?? [])]);
    // Imported here, not at the top, so `mine --help` loads only what its options name.
    const [{ readPassages }, { readQueries }, { DEFAULT_RELEVANCE_LEVEL, maxGrade, readJudgments }, { pairsFromQrels, readMinePairs }] = await Promise.all([
      import('../../corpus/passages.js'),
      import('../../corpus/queries.js'),
      import('../../eval/judgments.js'),
      import('../../mine/mine-input.js'),
    ]);
    let pairs: MinePairs;
    let corpus: string[] | undefined;
    if (values.pairs !== undefined) {
      if (values.qrels !== undefined || values.queries !== undefined) throw new SemsearchError('INVALID_ARGUMENT', 'give --pairs, or --queries with --qrels, not both', { field: '--pairs' });
      pairs = await readMinePairs(values.pairs);
      if (corpusFiles !== undefined) corpus = [...(await readPassages(corpusFiles)).values()];
    } else {
      if (values.qrels === undefined || values.queries === undefined || corpusFiles === undefined) {
        throw new SemsearchError('INVALID_ARGUMENT', 'mine needs --pairs <file>, or --queries, --qrels and --corpus', { field: '--pairs' });
      }
      const queries = await readQueries(values.queries);
      const qrels = await readJudgments(values.qrels);
      const passages = await readPassages(corpusFiles);
      const level = values['relevance-level'] ?? DEFAULT_RELEVANCE_LEVEL;
      const judged = pairsFromQrels(queries, qrels, passages, level);
      // The level is never guessed from the file's name: say which one made the pairs, and how to ask for TREC DL's.
      const top = maxGrade(qrels);
      io.stderr.write(
        `semsearch mine: positives are the pairs graded >= ${level} (${values['relevance-level'] !== undefined ? '--relevance-level' : "the default, trec_eval's"})` +
          (top > 1 && level !== 2 ? `; the judgments are graded up to ${top}: the TREC DL convention counts grade >= 2, pass --relevance-level 2` : '') +
          '\n',
      );
      if (judged.skipped > 0) io.stderr.write(`semsearch mine: ${judged.skipped} judged pair(s) left out: their query or passage has no text\n`);
      pairs = judged;
      corpus = [...passages.values()];
    }
    const threads = { ...(values.threads !== undefined ? { threads: values.threads } : {}), ...deviceOption(values) };
    // Imported here, not at the top, so `mine --help` does not load ONNX Runtime.
    const [{ loadModel }, { loadCrossEncoder }] = await Promise.all([import('../../encoder/load-model.js'), import('../../encoder/cross-encoder.js')]);
    const model = await loadModel(values.model, threads);
    let ce: CrossEncoder | undefined;
    const progress = commandProgress(io, 'texts');
    try {
      if (values['cross-encoder'] !== undefined) ce = await loadCrossEncoder(values['cross-encoder'], { ...threads, onWarning: (m) => io.stderr.write(`semsearch mine: warning: ${m}\n`) });
      const r = await mineHardNegatives(model, pairs.anchors, pairs.positives, {
        anchorColumn: pairs.columns[0],
        positiveColumn: pairs.columns[1],
        ...(corpus !== undefined ? { corpus } : {}),
        ...(ce !== undefined ? { crossEncoder: ce } : {}),
        ...(values['num-negatives'] !== undefined ? { numNegatives: values['num-negatives'] } : {}),
        ...(values['range-min'] !== undefined ? { rangeMin: values['range-min'] } : {}),
        ...(values['range-max'] !== undefined ? { rangeMax: values['range-max'] } : {}),
        ...(values['absolute-margin'] !== undefined ? { absoluteMargin: values['absolute-margin'] } : {}),
        ...(values['relative-margin'] !== undefined ? { relativeMargin: values['relative-margin'] } : {}),
        ...(values['max-score'] !== undefined ? { maxScore: values['max-score'] } : {}),
        ...(values['min-score'] !== undefined ? { minScore: values['min-score'] } : {}),
        ...(values['sampling-strategy'] !== undefined ? { samplingStrategy: values['sampling-strategy'] as 'top' | 'random' } : {}),
        ...(values.seed !== undefined ? { seed: values.seed } : {}),
        ...(values['include-positives'] === true ? { includePositives: true } : {}),
        ...(values['output-format'] !== undefined ? { outputFormat: values['output-format'] } : {}),
        ...(values['output-scores'] === true ? { outputScores: true } : {}),
        ...(values['query-prompt'] !== undefined ? { queryPrompt: values['query-prompt'] } : {}),
        ...(values['corpus-prompt'] !== undefined ? { corpusPrompt: values['corpus-prompt'] } : {}),
        ...(values['batch-size'] !== undefined ? { batchSize: values['batch-size'] } : {}),
        onProgress: (p) => progress.update(p.phase === 'rescoring' ? 'cross-encoder (queries)' : `encoding ${p.phase}`, p.done, p.total),
      });
      progress.finish();
      if (values.out === undefined) for (const row of r.rows) await writeToStream(io.stdout, JSON.stringify(row) + '\n');
      else {
        // Through a temporary file renamed into place: a failed write leaves whatever was under the name as it was.
        const file = await openOutputFile(values.out, '--out');
        try {
          let batch = '';
          for (const row of r.rows) {
            batch += JSON.stringify(row) + '\n';
            if (batch.length >= 1 << 16) {
              await file.write(batch);
              batch = '';
            }
          }
          await file.write(batch);
          await file.commit();
        } catch (e) {
          await file.abort();
          throw e;
        }
      }
      const skipped = Object.entries(r.skipped).map(([k, n]) => `${n} by ${k}`);
      io.stderr.write(
        `semsearch mine: ${r.rows.length} rows (${r.columns.join(', ')}) from ${pairs.anchors.length} pairs, ${r.uniqueQueries} distinct anchors, ${r.corpusSize} candidate texts; range_max ${r.rangeMax}` +
          (skipped.length > 0 ? `; candidates dropped: ${skipped.join(', ')}` : '') +
          (r.missing > 0 ? `; ${r.missing} ${r.columns.includes('negative') || r.columns.includes('label') || r.columns.includes('score') ? 'negatives' : 'rows'} not found (widen --range-max or the margins)` : '') +
          (values.out !== undefined ? `; written to ${values.out}` : '') +
          '\n',
      );
      return 0;
    } finally {
      await ce?.dispose();
      await model.dispose();
    }
  },
});
