import { detectCpu } from '../cpu/features.js';
import type { Device } from '../model/device.js';
import { servedModelId } from './model-id.js';
import { openIndex, type SearchIndex } from '../store/search-index.js';
import { type Searcher } from '../store/searcher.js';
import type { OpenSearchIndex } from '../opensearch/opensearch-index.js';
import { loadCrossEncoder, type CrossEncoder } from '../encoder/cross-encoder.js';
import { SemsearchError } from '../errors.js';
import type { FieldType } from '../store/manifest.js';

/** Where a server's passages live: a local index folder, or an OpenSearch index that `semsearch push` filled. */
export type IndexSource =
  | { backend: 'local'; dir: string }
  | { backend: 'opensearch'; url: string; indexName: string; oversample?: number; rescore?: boolean };

/** What the worker tells the server once the index is open: enough for /info without opening it twice. */
export interface IndexSummary {
  backend: 'local' | 'opensearch';
  model: string;
  modelType: string;
  similarity: string;
  count: number;
  dim: number;
  precision: string;
  shards: number;
  ann: boolean;
  maxSeqLength: number;
  /** The ONNX file queries are encoded with, relative to the model folder. */
  onnxFile: string;
  /** The CPU the worker runs on, as the int8 choice sees it; `onnxWarning` when the file drifts on it. */
  cpu: { arch: string; model: string; isa: string; flags: string[] };
  onnxWarning?: string;
  /** The OpenSearch backend: where the index is, and the defaults its searches use. */
  opensearch?: { url: string; indexName: string; replicas: number; oversample: number; rescore: boolean };
  /** Metadata fields and their types, as filters name them (`id` is always a field besides). */
  fields: Record<string, FieldType>;
  /** The opening words of one passage of the index (its first live one), for the search page's placeholder; absent on the OpenSearch backend. */
  sample?: string;
  /** IVF lists (index --ivf): their count, the nprobe a search uses unless it says otherwise, and the rows they hold (later rows are scanned exactly). */
  ivf?: { nlist: number; nprobe: number; rows: number };
  /** A chunked index (index --chunk): its window settings, its windows (`count` counts them) and its documents. */
  chunking?: { maxTokens: number; overlap: number; windows: number; documents: number };
  /** The cross-encoder /search re-ranks with (`rerank: true`) and /rerank scores with. */
  crossEncoder?: { model: string; architecture: string; maxLength: number; activation: string; onnxFile: string };
}

/** The searcher a worker answers with, and what its responses say about it, read once when it is opened. */
export interface Served {
  index: Searcher;
  summary: IndexSummary;
  /** A local int8/uint8 index's calibration: /encode quantizes a request's few texts with it. */
  ranges?: { min: number[]; max: number[] };
  /** Whether a search rescores candidates unless it says otherwise (the OpenSearch backend's `rescore`). */
  rescore: boolean;
  crossEncoder?: CrossEncoder;
}


function cpuOf(index: Searcher): { cpu: IndexSummary['cpu']; onnxWarning?: string } {
  const choice = index.model.onnxChoice;
  const cpu = choice.cpu ?? detectCpu();
  const warning = choice.warning ?? choice.int8?.fallback;
  return { cpu: { arch: cpu.arch, model: cpu.model, isa: cpu.isa, flags: cpu.flags }, ...(warning !== undefined ? { onnxWarning: warning } : {}) };
}

/** Words of a sample passage shown at most: enough to say what the index holds, short enough for a search box. */
const SAMPLE_WORDS = 8;

/** The opening words of a passage, for `sample`: at most SAMPLE_WORDS words and 80 characters, cut at a word. */
export function sampleOf(text: string | undefined): { sample?: string } {
  const words = (text ?? '').split(/\s+/).filter((w) => w !== '').slice(0, SAMPLE_WORDS);
  let out = '';
  for (const w of words) {
    const next = out === '' ? w : `${out} ${w}`;
    if (next.length > 80) break;
    out = next;
  }
  if (out === '' && words[0] !== undefined) out = Array.from(words[0]).slice(0, 80).join('');
  return out === '' ? {} : { sample: out };
}

/** A local index, described; info() reads file sizes from disk, so this runs once per worker, not per request. */
function servedLocal(index: SearchIndex): Served {
  const i = index.info();
  const m = index.manifest;
  return {
    index,
    summary: {
      backend: 'local',
      model: servedModelId(i.model),
      modelType: i.modelType,
      similarity: i.similarity,
      count: i.count,
      dim: i.dim,
      precision: i.precision,
      shards: i.shards,
      ann: i.ann !== undefined,
      maxSeqLength: index.model.maxSeqLength,
      onnxFile: i.onnxFile,
      ...cpuOf(index),
      fields: i.fields,
      ...(i.ivf !== undefined ? { ivf: { nlist: i.ivf.nlist, nprobe: i.ivf.nprobe, rows: i.ivf.rows } } : {}),
      ...(i.chunking !== undefined ? { chunking: { ...i.chunking, documents: i.live } } : {}),
      ...sampleOf(index.firstPassage()?.text),
    },
    ...(m.ranges !== undefined ? { ranges: m.ranges } : {}),
    rescore: false,
  };
}

/** An OpenSearch index, described from its `_meta` and settings. */
async function servedRemote(index: OpenSearchIndex): Promise<Served> {
  const i = await index.info();
  return {
    index,
    summary: {
      backend: 'opensearch',
      model: servedModelId(i.model),
      modelType: i.modelType,
      similarity: i.similarity,
      // As locally: a chunked index counts its windows here, its documents in chunking.
      count: i.chunking?.windows ?? i.live,
      dim: i.dim,
      precision: i.precision,
      shards: i.shards,
      // The cluster walks lucene HNSW graphs: never an exact scan.
      ann: true,
      maxSeqLength: index.model.maxSeqLength,
      onnxFile: i.onnxFile,
      ...cpuOf(index),
      fields: { ...i.fields },
      ...(i.chunking !== undefined ? { chunking: { ...i.chunking, documents: i.live } } : {}),
      opensearch: { url: i.url, indexName: i.indexName, replicas: i.replicas, oversample: i.oversample, rescore: i.rescore },
    },
    rescore: i.rescore,
  };
}

/** Open what a worker serves: the index, and the cross-encoder when one is named. */
export async function openServed(source: IndexSource, o: { threads?: number; device?: Device; verify?: boolean; crossEncoder?: string; allowSpinning?: boolean }): Promise<Served> {
  // The cross-encoder first: a name that cannot be loaded, or a model that cannot re-rank, stops the start early.
  const ce = o.crossEncoder === undefined ? undefined : await loadCrossEncoder(o.crossEncoder, { workers: 1, ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.device !== undefined ? { device: o.device } : {}) });
  try {
    if (ce !== undefined && ce.numLabels !== 1) {
      throw new SemsearchError('UNSUPPORTED_MODEL', `the cross-encoder ${o.crossEncoder} has ${ce.numLabels} outputs; re-ranking needs one (a relevance score)`, { field: 'rerank' });
    }
    const served = await openIndexOf(source, o);
    if (ce === undefined) return served;
    return {
      ...served,
      crossEncoder: ce,
      summary: {
        ...served.summary,
        crossEncoder: { model: servedModelId(o.crossEncoder as string), architecture: ce.config.architecture, maxLength: ce.maxLength, activation: ce.activation, onnxFile: ce.onnxFile.slice(ce.config.dir.length + 1) },
      },
    };
  } catch (e) {
    await ce?.dispose();
    throw e;
  }
}

async function openIndexOf(source: IndexSource, o: { threads?: number; device?: Device; verify?: boolean; allowSpinning?: boolean }): Promise<Served> {
  const threads = { ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.device !== undefined ? { device: o.device } : {}) };
  if (source.backend === 'local') {
    return servedLocal(await openIndex(source.dir, { ...threads, ...(o.verify !== undefined ? { verify: o.verify } : {}), ...(o.allowSpinning !== undefined ? { allowSpinning: o.allowSpinning } : {}) }));
  }
  // Loaded on demand: the cluster client is needed only by this backend.
  const { OpenSearchIndex } = await import('../opensearch/opensearch-index.js');
  const index = await OpenSearchIndex.open({
    url: source.url,
    indexName: source.indexName,
    ...(source.oversample !== undefined ? { oversample: source.oversample } : {}),
    ...(source.rescore !== undefined ? { rescore: source.rescore } : {}),
    ...threads,
  });
  try {
    return await servedRemote(index);
  } catch (e) {
    await index.close();
    throw e;
  }
}
