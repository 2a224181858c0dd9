import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadModel } from '../encoder/load-model.js';
import { normalizeRows } from '../encoder/normalize.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import { SemsearchError } from '../errors.js';
import { countLines, detectFormat, iteratePassages, type CorpusFormat, type Passage } from '../corpus/passages.js';
import type { Matrix } from '../tensor/matrix.js';
import { rangesOf, type QuantizationRanges } from '../tensor/quantize.js';
import { DocStore } from './doc-store.js';
import { lockForWriting } from './writer-lock.js';
import { INDEX_PRECISIONS, MANIFEST, readManifest, writeManifest, type IndexManifest, type IndexPrecision } from './manifest.js';
import { modelFingerprint } from './model-fingerprint.js';
import { encodeShard, SHARD_DIR, writeShard } from './shards.js';

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
  variant?: string;
  threads?: number;
  onProgress?: (p: BuildProgress) => void;
}

export interface BuildResult {
  manifest: IndexManifest;
  /** Passages added by this call (0 when the index was already complete). */
  added: number;
  resumedFrom: number;
  skipped: number;
}

function cleanPartialShards(out: string, m: IndexManifest | undefined): void {
  const dir = join(out, SHARD_DIR);
  if (!existsSync(dir)) return;
  const keep = new Set<string>();
  for (const s of m?.shards ?? []) {
    keep.add(s.file);
    if (s.rescoreFile !== undefined) keep.add(s.rescoreFile);
  }
  for (const f of readdirSync(dir)) if (!keep.has(`${SHARD_DIR}/${f}`)) rmSync(join(dir, f), { force: true });
}

function checkCompatible(m: IndexManifest, fingerprint: string, precision: IndexPrecision, corpus: string, out: string): void {
  const file = join(out, MANIFEST);
  if (m.model.fingerprint !== fingerprint) {
    throw new SemsearchError('INDEX_MISMATCH', `${out} was started with model ${m.model.ref}; resume with the same model or build into another folder`, {
      file,
      field: 'model',
    });
  }
  if (m.precision !== precision) {
    throw new SemsearchError('INDEX_MISMATCH', `${out} was started with precision ${m.precision}, not ${precision}`, { file, field: 'precision' });
  }
  if (m.corpus.path !== corpus) {
    throw new SemsearchError('INDEX_MISMATCH', `${out} was started from corpus ${m.corpus.path}, not ${corpus}`, { file, field: 'corpus' });
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
        })
      : options.model;
  const modelRef = typeof options.model === 'string' ? (existsSync(options.model) ? resolve(options.model) : options.model) : (options.modelRef ?? model.config.dir);
  try {
    const fingerprint = modelFingerprint(model);
    mkdirSync(join(out, SHARD_DIR), { recursive: true });
    const release = await lockForWriting(out);
    try {
      let manifest: IndexManifest | undefined = existsSync(join(out, MANIFEST)) ? readManifest(out) : undefined;
      if (manifest !== undefined) checkCompatible(manifest, fingerprint, precision, corpus, out);
      cleanPartialShards(out, manifest);
      const docs = new DocStore(join(out, 'docs.sqlite'));
      try {
        const now = new Date().toISOString();
        manifest ??= {
          format: 'semsearch-index',
          version: 1,
          model: {
            ref: modelRef,
            onnxFile: model.onnxFile.slice(model.config.dir.length).replace(/^[\\/]+/, ''),
            modelType: model.config.modelType,
            dimension: model.dimension,
            similarityFnName: model.similarityFnName,
            maxSeqLength: model.maxSeqLength,
            fingerprint,
          },
          precision,
          dim: model.dimension,
          normalized: model.similarityFnName === 'cosine',
          shardSize,
          count: 0,
          shards: [],
          corpus: { path: corpus, format, consumed: 0, skipped: 0, lastId: null },
          complete: false,
          createdAt: now,
          updatedAt: now,
        };
        const resumedFrom = manifest.count;
        docs.truncate(manifest.count);
        if (manifest.complete) {
          docs.finish();
          return { manifest, added: 0, resumedFrom, skipped: manifest.corpus.skipped };
        }

        const total = format === 'msmarco' || format === 'beir' ? await countLines(corpus) : undefined;
        let ranges: QuantizationRanges | undefined =
          manifest.ranges !== undefined ? { min: Float32Array.from(manifest.ranges.min), max: Float32Array.from(manifest.ranges.max) } : undefined;
        const started = Date.now();
        let added = 0;
        let consumed = 0;
        let pending: Passage[] = [];
        let lastConsumedId: string | null = null;
        const seen = new Set<string>();
        const m = manifest;

        const flush = async (): Promise<void> => {
          if (pending.length === 0) return;
          const emb = (await model.encode(
            pending.map((p) => p.text),
            { batchSize: options.batchSize ?? 32 },
          )) as Matrix;
          if (m.normalized) normalizeRows(emb);
          if ((precision === 'int8' || precision === 'binary') && ranges === undefined) {
            // Ranges come from the first shard and are then fixed, so every shard shares one quantisation.
            ranges = rangesOf(emb);
            m.ranges = { min: Array.from(ranges.min), max: Array.from(ranges.max) };
          }
          const entry = writeShard(out, m.shards.length, precision, encodeShard(emb, precision, ranges));
          docs.insertShard(m.count, pending);
          m.shards.push(entry);
          m.count += pending.length;
          m.corpus.consumed = consumed;
          m.corpus.lastId = lastConsumedId;
          m.updatedAt = new Date().toISOString();
          writeManifest(out, m);
          added += pending.length;
          pending = [];
          seen.clear();
          const secs = (Date.now() - started) / 1000;
          const rate = added / Math.max(secs, 1e-9);
          const progress: BuildProgress = { indexed: m.count, passagesPerSecond: rate };
          if (total !== undefined) {
            progress.total = total;
            progress.etaSeconds = Math.max(0, total - consumed) / Math.max(rate, 1e-9);
          }
          options.onProgress?.(progress);
        };

        let limitReached = false;
        for await (const p of iteratePassages(corpus, { format })) {
          consumed++;
          if (consumed <= m.corpus.consumed) {
            // Already indexed: the record at the resume point must be the one the manifest remembers.
            if (consumed === m.corpus.consumed && p.id !== m.corpus.lastId) {
              throw new SemsearchError('CORPUS_CHANGED', `${corpus} changed since the index was started: record ${consumed} is ${p.id}, the index recorded ${m.corpus.lastId}`, {
                file: corpus,
                ...(p.line !== undefined ? { line: p.line } : {}),
              });
            }
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
          pending.push(p);
          if (pending.length >= shardSize) await flush();
          if (options.limit !== undefined && m.count + pending.length >= options.limit) {
            limitReached = true;
            break;
          }
        }
        await flush();
        if (!limitReached) {
          if (m.count === 0) throw new SemsearchError('EMPTY_INPUT', `${corpus} holds no passages to index`, { file: corpus });
          m.complete = true;
          m.corpus.consumed = consumed;
          m.updatedAt = new Date().toISOString();
          docs.finish();
          writeManifest(out, m);
        }
        return { manifest: m, added, resumedFrom, skipped: m.corpus.skipped };
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
