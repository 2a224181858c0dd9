import { createHash, type Hash } from 'node:crypto';
import type { Device } from '../model/device.js';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadModel } from '../encoder/load-model.js';
import { normalizeRows } from '../encoder/normalize.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { SemsearchError } from '../errors.js';
import { detectFormat, type CorpusFormat } from '../corpus/formats.js';
import { countLines, iteratePassages, type Passage } from '../corpus/passages.js';
import type { Matrix } from '../tensor/matrix.js';
import { rangesOf, type QuantizationRanges } from '../tensor/quantize.js';
import { DocStore } from './doc-store.js';
import { checkMetadata } from './filter.js';
import { writeError } from './io-errors.js';
import { readMetadataFile, unmatchedMetadata, type UnmatchedMetadata } from '../corpus/metadata.js';
import { lockForWriting } from './writer-lock.js';
import { DEFAULT_DOCS_FILE, INDEX_PRECISIONS, MANIFEST, readManifest, writeManifest, type IndexManifest, type IndexPrecision } from './manifest.js';
import { modelFingerprint } from './model-fingerprint.js';
import { buildPrompts, type IndexPrompts } from './prompts.js';
import { chunkingFor, documentRows, fitsModel, type ChunkRow, type ChunkSettings } from './chunk-rows.js';
import { encodeShard, removeUnlistedShards, SHARD_DIR, writeShard } from './shards.js';

export interface BuildProgress {
  /** Passages in the index so far. */
  indexed: number;
  /** Corpus records when known (line formats), for an ETA. */
  total?: number;
  passagesPerSecond: number;
  etaSeconds?: number;
}

export interface BuildIndexOptions {
  corpus: string;
  /**
   * What the manifest records as the corpus, and a resume must match (default: the corpus's resolved path). The
   * CLI's `index -` records "-": standard input, spooled to a temporary file whose name changes on every run.
   */
  corpusLabel?: string;
  out: string;
  /** A loaded model, or a folder / hub name to load. */
  model: SentenceTransformer | string;
  /** Name recorded in the manifest when `model` is a loaded object (default: its folder). */
  modelRef?: string;
  format?: CorpusFormat;
  precision?: IndexPrecision;
  /** Passages per shard: the unit of durability and of resume (default 8192). */
  shardSize?: number;
  batchSize?: number;
  /** Skip (and count) empty passages and repeated ids instead of failing. */
  skipBad?: boolean;
  /** Stop after this many passages have been indexed (for trials and tests). */
  limit?: number;
  /**
   * A metadata side file (JSONL, `{"id": …, field: value}` per line) whose fields join the passages with those ids:
   * for MS MARCO tsv and other formats without fields (BEIR corpora carry their own title and extra fields).
   */
  metadata?: string;
  variant?: string;
  threads?: number;
  /** Where ONNX Runtime encodes: 'cpu' (default) or 'cuda' (see LoadModelOptions.device). */
  device?: Device;
  /**
   * The model's prompt for the documents (default: encode_document's choice, "document" then "passage", "corpus")
   * and the one its queries will take (default: "query"). Their texts are recorded in the manifest.
   */
  documentPromptName?: string;
  queryPromptName?: string;
  onProgress?: (p: BuildProgress) => void;
  /**
   * Cut each passage longer than the model's window into token windows (true: the defaults of ChunkSettings) and
   * search documents, one hit each, by their best window. Recorded in the manifest; a resume must ask the same.
   */
  chunk?: boolean | ChunkSettings;
}

export interface BuildResult {
  manifest: IndexManifest;
  /** Passages added by this call (0 when the index was already complete). */
  added: number;
  resumedFrom: number;
  skipped: number;
  /**
   * With a metadata side file: its rows whose id names no passage of the corpus records read (all of them, unless
   * `limit` stopped the build), counted rather than dropped silently; their fields are not used. Count 0 otherwise.
   */
  metadataUnmatched: UnmatchedMetadata;
  /**
   * Passages this call indexed whose tokens (with the special tokens) exceed the model's max_seq_length: without
   * chunking their ends are not searched; with it they were cut into `windows` rows.
   */
  long: { passages: number; of: number; maxSeqLength: number; windows: number };
}

function checkCompatible(m: IndexManifest, fingerprint: string, prompts: IndexPrompts, precision: IndexPrecision, corpus: string, out: string): void {
  const file = join(out, MANIFEST);
  if (m.model.fingerprint !== fingerprint) {
    throw new SemsearchError('INDEX_MISMATCH', `${out} was started with model ${m.model.ref}; resume with the same model or build into another folder`, {
      file,
      field: 'model',
    });
  }
  const had = m.model.prompts ?? { query: '', document: '' };
  for (const role of ['document', 'query'] as const) {
    if (had[role] !== prompts[role]) {
      throw new SemsearchError('INDEX_MISMATCH', `${out} was started with the ${role} prompt ${JSON.stringify(had[role])}, not ${JSON.stringify(prompts[role])}; resume with the same prompt names`, {
        file,
        field: `model.prompts.${role}`,
      });
    }
  }
  if (m.precision !== precision) {
    throw new SemsearchError('INDEX_MISMATCH', `${out} was started with precision ${m.precision}, not ${precision}`, { file, field: 'precision' });
  }
  if (m.corpus.path !== corpus) {
    throw new SemsearchError('INDEX_MISMATCH', `${out} was started from corpus ${m.corpus.path}, not ${corpus}`, { file, field: 'corpus' });
  }
}

function recordKey(p: Passage): string {
  return `${p.id}\u0000${p.text}\u0000`;
}

/**
 * Why a folder could not be made: a recursive mkdir on a read-only mount says ENOENT; the nearest folder that exists
 * says EROFS (or EACCES) when asked whether it can be written.
 */
function whyNoFolder(dir: string, cause: unknown): unknown {
  if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') return cause;
  let at = dirname(resolve(dir));
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  try {
    accessSync(at, constants.W_OK);
  } catch (e) {
    return e;
  }
  return cause;
}

const REBUILD = 'rebuild the index into a new folder (or delete it and run the same command)';

/** The record at the resume point is the one indexed there, and every record before it is unchanged. */
function checkResumePoint(m: IndexManifest, p: Passage, prefix: Hash, corpus: string, out: string): void {
  const where = { file: corpus, ...(p.line !== undefined ? { line: p.line } : {}) };
  if (p.id !== m.corpus.lastId) {
    throw new SemsearchError('CORPUS_CHANGED', `${corpus} changed since the index at ${out} was started: record ${m.corpus.consumed} is ${p.id}, the index recorded ${m.corpus.lastId}; ${REBUILD}`, where);
  }
  if (m.corpus.prefixSha256 !== undefined && prefix.copy().digest('hex') !== m.corpus.prefixSha256) {
    throw new SemsearchError(
      'CORPUS_CHANGED',
      `${corpus} changed since the index at ${out} was built: the text or ids of its first ${m.corpus.consumed} records differ from what was indexed; ${REBUILD}`,
      where,
    );
  }
}

function corpusCut(m: IndexManifest, consumed: number, corpus: string, out: string): SemsearchError {
  return new SemsearchError(
    'CORPUS_CHANGED',
    `${corpus} has ${consumed} records, but the index at ${out} was built from its first ${m.corpus.consumed}: the corpus was cut or replaced; ${REBUILD}`,
    { file: corpus },
  );
}

/** A complete index meets its corpus again: unchanged, or CORPUS_CHANGED saying what changed. */
async function verifyCompleteCorpus(m: IndexManifest, corpus: string, format: CorpusFormat, out: string): Promise<void> {
  const prefix = createHash('sha256');
  let consumed = 0;
  let extra = 0;
  let firstExtra: Passage | undefined;
  for await (const p of iteratePassages(corpus, { format })) {
    consumed++;
    if (consumed <= m.corpus.consumed) {
      prefix.update(recordKey(p));
      if (consumed === m.corpus.consumed) checkResumePoint(m, p, prefix, corpus, out);
      continue;
    }
    firstExtra ??= p;
    extra++;
  }
  if (consumed < m.corpus.consumed) throw corpusCut(m, consumed, corpus, out);
  if (extra > 0) {
    throw new SemsearchError(
      'CORPUS_CHANGED',
      `${corpus} has ${extra} record${extra === 1 ? '' : 's'} after the ${m.corpus.consumed} that the complete index at ${out} holds (from ${firstExtra?.id}); they are not indexed: ${REBUILD}`,
      { file: corpus, ...(firstExtra?.line !== undefined ? { line: firstExtra.line } : {}) },
    );
  }
}

/**
 * Encode a corpus into an index folder: manifest.json, shards/ and docs.sqlite. Crash-safe and resumable: each
 * shard is written durably, then its passages are committed, then the manifest is replaced; running the same call
 * again after a kill continues from the last complete shard, with nothing lost or duplicated.
 */
export async function buildIndex(options: BuildIndexOptions): Promise<BuildResult> {
  const precision = options.precision ?? 'float32';
  if (!INDEX_PRECISIONS.includes(precision)) {
    throw new SemsearchError('INVALID_ARGUMENT', `precision must be one of ${INDEX_PRECISIONS.join(', ')}, got ${JSON.stringify(precision)}`, { field: 'precision' });
  }
  const shardSize = options.shardSize ?? 8192;
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new SemsearchError('INVALID_ARGUMENT', `shardSize must be a positive integer`, { field: 'shardSize' });
  const corpus = resolve(options.corpus);
  const format = options.format ?? (await detectFormat(corpus));
  const out = resolve(options.out);

  const ownModel = typeof options.model === 'string';
  const model =
    typeof options.model === 'string'
      ? await loadModel(options.model, {
          ...(options.variant !== undefined ? { variant: options.variant } : {}),
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
          ...(options.device !== undefined ? { device: options.device } : {}),
        })
      : options.model;
  const modelRef = typeof options.model === 'string' ? (existsSync(options.model) ? resolve(options.model) : options.model) : (options.modelRef ?? model.config.dir);
  try {
    const fingerprint = modelFingerprint(model);
    const prompts = buildPrompts(model, {
      ...(options.documentPromptName !== undefined ? { documentPromptName: options.documentPromptName } : {}),
      ...(options.queryPromptName !== undefined ? { queryPromptName: options.queryPromptName } : {}),
    });
    try {
      mkdirSync(join(out, SHARD_DIR), { recursive: true });
    } catch (cause) {
      throw writeError(out, `the index folder ${out}`, whyNoFolder(out, cause));
    }
    const release = await lockForWriting(out);
    try {
      let manifest: IndexManifest | undefined = existsSync(join(out, MANIFEST)) ? readManifest(out) : undefined;
      const chunking = options.chunk === undefined || options.chunk === false ? undefined : chunkingFor(model, options.chunk === true ? {} : options.chunk);
      if (manifest !== undefined) checkCompatible(manifest, fingerprint, prompts, precision, options.corpusLabel ?? corpus, out);
      if (manifest !== undefined && JSON.stringify(manifest.chunking ?? null) !== JSON.stringify(chunking ?? null)) {
        throw new SemsearchError(
          'INDEX_MISMATCH',
          `${out} was started ${manifest.chunking !== undefined ? `with --chunk (${manifest.chunking.maxTokens} tokens, overlap ${manifest.chunking.overlap})` : 'without --chunk'}; resume it the same way or build into another folder`,
          { file: join(out, MANIFEST), field: 'chunk' },
        );
      }
      removeUnlistedShards(out, manifest?.shards);
      const docs = new DocStore(join(out, manifest?.docs ?? DEFAULT_DOCS_FILE), { chunked: chunking !== undefined });
      const side = options.metadata !== undefined ? await readMetadataFile(resolve(options.metadata)) : undefined;
      try {
        const now = new Date().toISOString();
        manifest ??= {
          format: 'semsearch-index',
          version: 1,
          model: {
            ref: modelRef,
            // A built graph lives in the build cache, and stands for the export the folder lacks.
            onnxFile: model.onnxChoice.requested === 'built' ? 'onnx/model.onnx' : model.onnxFile.slice(model.config.dir.length).replace(/^[\\/]+/, ''),
            modelType: model.config.modelType,
            dimension: model.dimension,
            similarityFnName: model.similarityFnName,
            maxSeqLength: model.maxSeqLength,
            fingerprint,
            prompts,
          },
          precision,
          dim: model.dimension,
          normalized: model.similarityFnName === 'cosine',
          shardSize,
          count: 0,
          shards: [],
          corpus: { path: options.corpusLabel ?? corpus, format, consumed: 0, skipped: 0, lastId: null },
          complete: false,
          ...(chunking !== undefined ? { chunking, documents: 0 } : {}),
          createdAt: now,
          updatedAt: now,
        };
        const resumedFrom = manifest.count;
        docs.rollback({ count: manifest.count, generation: manifest.generation ?? 0 });
        if (manifest.complete) {
          // Done already, unless the corpus changed since: read it through and compare before saying so.
          await verifyCompleteCorpus(manifest, corpus, format, out);
          docs.finish();
          return { manifest, added: 0, resumedFrom, skipped: manifest.corpus.skipped, metadataUnmatched: { count: 0, ids: [] }, long: { passages: 0, of: 0, maxSeqLength: model.maxSeqLength, windows: 0 } };
        }

        const total = format === 'msmarco' || format === 'beir' ? await countLines(corpus) : undefined;
        let ranges: QuantizationRanges | undefined =
          manifest.ranges !== undefined ? { min: Float32Array.from(manifest.ranges.min), max: Float32Array.from(manifest.ranges.max) } : undefined;
        const started = Date.now();
        let added = 0;
        let consumed = 0;
        let pending: ChunkRow[] = [];
        let pendingDocs = 0;
        const long = { passages: 0, of: 0, maxSeqLength: model.maxSeqLength, windows: 0 };
        let lastConsumedId: string | null = null;
        const seen = new Set<string>();
        const m = manifest;

        const report = (indexed: number, read: number): void => {
          if (options.onProgress === undefined) return;
          const secs = (Date.now() - started) / 1000;
          const rate = (indexed - resumedFrom) / Math.max(secs, 1e-9);
          const progress: BuildProgress = { indexed, passagesPerSecond: rate };
          if (total !== undefined) {
            progress.total = total;
            progress.etaSeconds = Math.max(0, total - read) / Math.max(rate, 1e-9);
          }
          options.onProgress(progress);
        };
        const flush = async (): Promise<void> => {
          if (pending.length === 0) return;
          // Progress every batch, not every shard: a shard of 8,192 passages takes minutes on a CPU.
          const emb = (await model.encode(
            pending.map((p) => p.input),
            { batchSize: options.batchSize ?? 32, prompt: prompts.document, onProgress: (e) => report(m.count + e.done, consumed - pending.length + e.done) },
          )) as Matrix;
          if (m.normalized) normalizeRows(emb);
          if ((precision === 'int8' || precision === 'binary') && ranges === undefined) {
            // Ranges come from the first shard and are then fixed, so every shard shares one quantisation.
            ranges = rangesOf(emb);
            m.ranges = { min: Array.from(ranges.min), max: Array.from(ranges.max) };
          }
          const entry = writeShard(out, m.shards.length, precision, encodeShard(emb, precision, ranges));
          docs.insertShard(m.count, pending, m.fields ?? {});
          m.shards.push(entry);
          m.count += pending.length;
          if (m.documents !== undefined) m.documents += pendingDocs;
          m.corpus.consumed = consumed;
          m.corpus.lastId = lastConsumedId;
          m.corpus.prefixSha256 = prefix.copy().digest('hex');
          m.updatedAt = new Date().toISOString();
          writeManifest(out, m);
          added += pendingDocs;
          pending = [];
          pendingDocs = 0;
          seen.clear();
          report(m.count, consumed);
        };

        let limitReached = false;
        const prefix = createHash('sha256');
        const matched = new Set<string>();
        for await (const p of iteratePassages(corpus, { format })) {
          consumed++;
          prefix.update(recordKey(p));
          if (side?.has(p.id) === true) matched.add(p.id);
          if (consumed <= m.corpus.consumed) {
            // Already indexed: the record at the resume point must be the one the manifest remembers.
            if (consumed === m.corpus.consumed) checkResumePoint(m, p, prefix, corpus, out);
            continue;
          }
          lastConsumedId = p.id;
          const where = { file: p.file, ...(p.line !== undefined ? { line: p.line } : {}) };
          if (p.text.trim().length === 0 || seen.has(p.id) || docs.has(p.id)) {
            const empty = p.text.trim().length === 0;
            if (options.skipBad === true) {
              m.corpus.skipped++;
              continue;
            }
            throw new SemsearchError(
              empty ? 'EMPTY_PASSAGE' : 'DUPLICATE_ENTRY',
              `${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${empty ? `passage ${p.id} is empty` : `passage id ${p.id} appears twice`} (use skipBad / --skip-bad to skip and count such records)`,
              { ...where, field: 'id' },
            );
          }
          seen.add(p.id);
          const extra = side?.get(p.id);
          if (extra !== undefined) p.metadata = { ...(p.metadata ?? {}), ...extra };
          if (p.metadata !== undefined) {
            // Each field keeps one type: checked record by record, so the error names the line.
            const added = checkMetadata([{ id: p.id, metadata: p.metadata, file: p.file, ...(p.line !== undefined ? { line: p.line } : {}) }], m.fields ?? {});
            if (Object.keys(added).length > 0) m.fields = { ...(m.fields ?? {}), ...added };
          }
          const rows = documentRows(model, p, m.chunking, prompts.document);
          long.of++;
          if (m.chunking !== undefined ? rows.length > 1 : !fitsModel(model, p.text, prompts.document)) {
            long.passages++;
            if (m.chunking !== undefined) long.windows += rows.length;
          }
          pending.push(...rows);
          pendingDocs++;
          // A document's windows stay in one shard, so a shard (the unit of resume) ends at a whole record.
          if (pending.length >= shardSize) await flush();
          if (options.limit !== undefined && (m.documents ?? m.count) + pendingDocs >= options.limit) {
            limitReached = true;
            break;
          }
        }
        await flush();
        if (consumed < m.corpus.consumed) throw corpusCut(m, consumed, corpus, out);
        if (!limitReached) {
          if (m.count === 0) throw new SemsearchError('EMPTY_INPUT', `${corpus} holds no passages to index`, { file: corpus });
          m.complete = true;
          m.corpus.consumed = consumed;
          m.corpus.prefixSha256 = prefix.copy().digest('hex');
          m.updatedAt = new Date().toISOString();
          docs.finish();
          writeManifest(out, m);
        }
        return { manifest: m, added, resumedFrom, skipped: m.corpus.skipped, metadataUnmatched: side !== undefined ? unmatchedMetadata(side, matched) : { count: 0, ids: [] }, long };
      } finally {
        docs.close();
      }
    } finally {
      await release();
    }
  } finally {
    if (ownModel) await model.dispose();
  }
}
