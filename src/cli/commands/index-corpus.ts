import { SemsearchError } from '../../errors.js';
import { ANN_QUANTIZATIONS, buildAnnIndex, type AnnQuantization } from '../../store/ann.js';
import { buildIndex, type BuildProgress } from '../../store/build-index.js';
import { INDEX_PRECISIONS, type IndexPrecision } from '../../store/manifest.js';
import { CORPUS_FORMATS, type CorpusFormat } from '../../corpus/passages.js';
import { helpText, parseArgs, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { createProgress, type ProgressOutput } from '../progress.js';

const FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm', description: 'model folder or hub name (required)' },
  out: { type: 'string', short: 'o', description: 'index folder to create or resume (required)' },
  precision: { type: 'string', description: `stored precision: ${INDEX_PRECISIONS.join(', ')} (default float32)` },
  format: { type: 'string', description: `corpus format: ${CORPUS_FORMATS.join(', ')} (default: from the extension)` },
  'shard-size': { type: 'number', description: 'passages per shard, the unit of resume (default 8192)' },
  'batch-size': { type: 'number', description: 'texts per forward pass (default 32)' },
  'skip-bad': { type: 'boolean', description: 'skip and count empty passages and repeated ids instead of failing' },
  limit: { type: 'number', description: 'stop after this many passages (resume later to continue)' },
  ann: { type: 'string', description: `also build an HNSW graph: ${ANN_QUANTIZATIONS.join(', ')} (f16 recommended: usearch's i8 loses most recall on unit-length vectors, docs/INDEX-SCALE.md)` },
  variant: { type: 'string', description: "ONNX variant: 'int8' for the quantized file accurate on this CPU, or a hub variant such as O2 or quint8_avx2" },
  threads: { type: 'number', description: 'ONNX Runtime threads' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** `semsearch index <corpus> -m MODEL -o DIR`: build or resume an index. */
export const indexCommand: Command = {
  name: 'index',
  summary: 'encode a corpus into an index folder (resumable: run it again after a crash)',
  async run(argv, io) {
    const { positionals, flags } = parseArgs(argv, FLAGS);
    if (flags['help'] === true) {
      io.stdout.write(helpText('usage: semsearch index <corpus> -m <model> -o <index-dir>', FLAGS));
      return 0;
    }
    const corpus = positionals[0];
    if (corpus === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'index needs a corpus path', { field: 'corpus' });
    const model = flags['model'];
    const out = flags['out'];
    if (typeof model !== 'string') throw new SemsearchError('INVALID_ARGUMENT', 'index needs --model <folder or hub name>', { field: '--model' });
    if (typeof out !== 'string') throw new SemsearchError('INVALID_ARGUMENT', 'index needs --out <index folder>', { field: '--out' });
    // Options that would fail after hours of encoding are checked before the first passage.
    const annQ = flags['ann'];
    if (typeof annQ === 'string') {
      if (!(ANN_QUANTIZATIONS as readonly string[]).includes(annQ)) {
        throw new SemsearchError('INVALID_ARGUMENT', `--ann must be one of ${ANN_QUANTIZATIONS.join(', ')}, got ${JSON.stringify(annQ)}`, { field: '--ann' });
      }
      if (flags['precision'] === 'binary') {
        throw new SemsearchError('INVALID_ARGUMENT', 'a binary index is searched exactly (hamming, then int8 rescoring) and takes no --ann graph; drop --ann or pick another --precision', { field: '--ann' });
      }
    }
    const progress = createProgress(io.stderr as ProgressOutput, 'passages');
    const onProgress = (p: BuildProgress): void => progress.update('indexed', p.indexed, p.total);
    const r = await buildIndex({
      corpus,
      out,
      model,
      onProgress,
      ...(typeof flags['precision'] === 'string' ? { precision: flags['precision'] as IndexPrecision } : {}),
      ...(typeof flags['format'] === 'string' ? { format: flags['format'] as CorpusFormat } : {}),
      ...(typeof flags['shard-size'] === 'number' ? { shardSize: flags['shard-size'] } : {}),
      ...(typeof flags['batch-size'] === 'number' ? { batchSize: flags['batch-size'] } : {}),
      ...(flags['skip-bad'] === true ? { skipBad: true } : {}),
      ...(typeof flags['limit'] === 'number' ? { limit: flags['limit'] } : {}),
      ...(typeof flags['variant'] === 'string' ? { variant: flags['variant'] } : {}),
      ...(typeof flags['threads'] === 'number' ? { threads: flags['threads'] } : {}),
    });
    progress.finish();
    const m = r.manifest;
    if (typeof annQ === 'string' && m.complete) {
      const t = Date.now();
      const ann = await buildAnnIndex(out, { quantization: annQ as AnnQuantization });
      io.stdout.write(`HNSW graph (${ann.quantization}, M=${ann.connectivity}) built in ${((Date.now() - t) / 1000).toFixed(1)} s: ${ann.file}\n`);
    }
    io.stdout.write(
      `${m.complete ? 'complete' : 'partial'}: ${m.count} passages in ${m.shards.length} shards (${m.precision}, dim ${m.dim}) at ${out}; ` +
        `added ${r.added}${r.resumedFrom > 0 ? `, resumed from ${r.resumedFrom}` : ''}${r.skipped > 0 ? `, skipped ${r.skipped} bad records` : ''}\n`,
    );
    return 0;
  },
};
