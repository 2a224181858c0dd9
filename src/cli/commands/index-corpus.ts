import { SemsearchError } from '../../errors.js';
import type { BuildProgress } from '../../store/build-index.js';
import { ANN_QUANTIZATIONS, INDEX_PRECISIONS } from '../../store/manifest.js';
import { CORPUS_FORMAT_DESCRIPTIONS, CORPUS_FORMATS } from '../../corpus/formats.js';
import { describeUnmatched } from '../../corpus/metadata.js';
import { defineCommand } from '../command.js';
import { BATCH_SIZE_OPTION, DEVICE_OPTION, MODEL_OPTION, OUT_OPTION, THREADS_OPTION, VARIANT_OPTION, deviceOption } from '../options.js';
import { commandProgress } from '../progress.js';
import { STDIN_ARG, withCorpusArg } from '../stdin-corpus.js';

/** `semsearch index <corpus> -m MODEL -o DIR`: build or resume an index. */
export const indexCommand = defineCommand({
  name: 'index',
  usage: `usage: semsearch index <corpus | -> -m <model> -o <index-dir>

The corpus is a file or folder in any of these formats (guessed from the path and first line; --format names it):
${CORPUS_FORMATS.map((f) => `  ${f.padEnd(10)}  ${CORPUS_FORMAT_DESCRIPTIONS[f]}`).join('\n')}

A corpus of "-" is standard input: --format, or told from its first line (a JSON object: beir; a JSON array:
candidates; .I: smart; a tab: msmarco). It is copied to a temporary file first; the index records "-" as its
corpus, so running the same command on the same input again resumes it.`,
  options: {
    model: { ...MODEL_OPTION, required: 'index needs --model <folder or hub name>' },
    out: { ...OUT_OPTION, description: 'index folder to create or resume (required)', required: 'index needs --out <index folder>' },
    precision: { type: 'string', description: 'stored precision (default float32)', choices: INDEX_PRECISIONS },
    format: { type: 'string', description: 'corpus format (default: guessed from the path and first line)', choices: CORPUS_FORMATS },
    'shard-size': { type: 'number', description: 'passages per shard, the unit of resume (default 8192)' },
    'batch-size': BATCH_SIZE_OPTION,
    'skip-bad': { type: 'boolean', description: 'skip and count empty passages and repeated ids instead of failing' },
    limit: { type: 'number', description: 'stop after this many passages (resume later to continue)' },
    metadata: { type: 'string', description: 'a JSONL side file of metadata: {"id": …, "field": value} per line (BEIR corpora carry their own fields)' },
    chunk: { type: 'boolean', description: "cut passages longer than the model's window into token windows and search documents (one hit each, by its best window)" },
    'chunk-tokens': { type: 'number', description: "--chunk: tokens per window, special tokens included (default: the model's max_seq_length)", positiveInteger: true },
    'chunk-overlap': { type: 'number', description: '--chunk: tokens neighbouring windows share (default: an eighth of the window)' },
    ann: {
      type: 'string',
      description: 'also build an HNSW graph: i8 (the recall of f16 once hits are rescored, at half the size; docs/SEARCH-SCALE.md), f16 or f32',
      choices: ANN_QUANTIZATIONS,
    },
    ivf: {
      type: 'number',
      description: 'binary indexes: also build IVF lists with this many centroids (about √passages; docs/SEARCH-SCALE.md), so a search scans the sign bits of the lists nearest the query only',
      positiveInteger: true,
    },
    'prompt-name': {
      type: 'string',
      description: "the model's prompt put before every passage (default: as encode_document, its \"document\" prompt, empty unless the model sets one)",
    },
    'query-prompt-name': { type: 'string', description: "the model's prompt for this index's queries (default: \"query\"); recorded with the passages' prompt in the manifest" },
    variant: VARIANT_OPTION,
    threads: THREADS_OPTION,
    device: DEVICE_OPTION,
  },
  args: [{ name: 'corpus', required: 'index needs a corpus path' }],
  async run({ values, args, io }) {
    const corpus = args[0] as string;
    const { model, out } = values;
    // Options that would fail after hours of encoding are checked before the first passage.
    const annQ = values.ann;
    if (annQ !== undefined) {
      if (values.precision === 'binary') {
        throw new SemsearchError('INVALID_ARGUMENT', 'a binary index is searched exactly (hamming, then int8 rescoring) and takes no --ann graph; drop --ann or pick another --precision', { field: '--ann' });
      }
    }
    if (values.ivf !== undefined && values.precision !== 'binary') {
      throw new SemsearchError('INVALID_ARGUMENT', 'IVF lists partition binary indexes (hamming scan, int8 rescoring): add --precision binary, or use --ann for the other precisions', { field: '--ivf' });
    }
    if ((values['chunk-tokens'] !== undefined || values['chunk-overlap'] !== undefined) && values.chunk !== true) {
      throw new SemsearchError('INVALID_ARGUMENT', `${values['chunk-tokens'] !== undefined ? '--chunk-tokens' : '--chunk-overlap'} sets how --chunk cuts; add --chunk`, {
        field: values['chunk-tokens'] !== undefined ? '--chunk-tokens' : '--chunk-overlap',
      });
    }
    const chunk =
      values.chunk === true
        ? { ...(values['chunk-tokens'] !== undefined ? { maxTokens: values['chunk-tokens'] } : {}), ...(values['chunk-overlap'] !== undefined ? { overlap: values['chunk-overlap'] } : {}) }
        : undefined;
    // Imported here, not at the top, so `index --help` loads neither ONNX Runtime nor SQLite nor usearch.
    const [{ buildIndex }, { buildAnnIndex }] = await Promise.all([import('../../store/build-index.js'), import('../../store/ann.js')]);
    const progress = commandProgress(io, 'passages');
    const onProgress = (p: BuildProgress): void => progress.update('indexed', p.indexed, p.total);
    // `-`: standard input, spooled to a temporary file; the manifest records "-", so the same input resumes.
    const r = await withCorpusArg(corpus, io.stdin, values.format, (path, format) =>
      buildIndex({
      corpus: path,
      ...(corpus === STDIN_ARG ? { corpusLabel: STDIN_ARG } : {}),
      out,
      model,
      onProgress,
      ...(values.precision !== undefined ? { precision: values.precision } : {}),
      ...(format !== undefined ? { format } : {}),
      ...(values['shard-size'] !== undefined ? { shardSize: values['shard-size'] } : {}),
      ...(values['batch-size'] !== undefined ? { batchSize: values['batch-size'] } : {}),
      ...(values['skip-bad'] === true ? { skipBad: true } : {}),
      ...(values.limit !== undefined ? { limit: values.limit } : {}),
      ...(values.metadata !== undefined ? { metadata: values.metadata } : {}),
      ...(values.variant !== undefined ? { variant: values.variant } : {}),
      ...(values.threads !== undefined ? { threads: values.threads } : {}),
      ...(values['prompt-name'] !== undefined ? { documentPromptName: values['prompt-name'] } : {}),
      ...(values['query-prompt-name'] !== undefined ? { queryPromptName: values['query-prompt-name'] } : {}),
      ...deviceOption(values),
      ...(chunk !== undefined ? { chunk } : {}),
      }),
    );
    progress.finish();
    const m = r.manifest;
    if (annQ !== undefined && m.complete) {
      const t = Date.now();
      const ann = await buildAnnIndex(out, { quantization: annQ });
      io.stdout.write(`HNSW graph (${ann.quantization}, M=${ann.connectivity}) built in ${((Date.now() - t) / 1000).toFixed(1)} s: ${ann.file}\n`);
    }
    if (values.ivf !== undefined && m.complete) {
      const t = Date.now();
      const { buildIvfIndex } = await import('../../store/ivf.js');
      const ivf = await buildIvfIndex(out, { nlist: Math.min(values.ivf, m.count) });
      io.stdout.write(`IVF lists (${ivf.nlist} lists, ${ivf.nprobe} probed by default) built in ${((Date.now() - t) / 1000).toFixed(1)} s: ${ivf.file}\n`);
    }
    io.stdout.write(
      `${m.complete ? 'complete' : 'partial'}: ${m.documents !== undefined ? `${m.documents} documents as ${m.count} windows` : `${m.count} passages`} in ${m.shards.length} shards (${m.precision}, dim ${m.dim}) at ${out}; ` +
        `added ${r.added}${r.resumedFrom > 0 ? `, resumed from ${r.resumedFrom}` : ''}${r.skipped > 0 ? `, skipped ${r.skipped} bad records` : ''}\n`,
    );
    // Truncation is never silent: the model reads max_seq_length tokens of a text and drops the rest.
    const long = r.long;
    if (long.passages > 0) {
      const n = (x: number): string => x.toLocaleString('en-US');
      if (m.chunking !== undefined) {
        io.stdout.write(`${n(long.passages)} of ${n(long.of)} texts exceed ${n(m.chunking.maxTokens)} tokens: cut into ${n(long.windows)} windows (overlap ${m.chunking.overlap} tokens)\n`);
      } else {
        io.stderr.write(`semsearch index: ${n(long.passages)} of ${n(long.of)} texts exceed ${n(long.maxSeqLength)} tokens: their ends are not searched; --chunk indexes them whole\n`);
      }
    }
    if (r.metadataUnmatched.count > 0 && values.metadata !== undefined) io.stderr.write(`semsearch index: warning: ${describeUnmatched(r.metadataUnmatched, values.metadata, corpus === STDIN_ARG ? '<stdin>' : corpus)}\n`);
    return 0;
  },
});
