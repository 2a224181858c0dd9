import { SemsearchError } from '../errors.js';
import type { SentenceTransformer } from '../encoder/sentence-transformer.js';
import type { Device } from '../model/device.js';
import type { Searcher } from '../store/searcher.js';

/** The parsed BACKEND_OPTIONS of a command. */
export interface BackendValues {
  backend?: string;
  url?: string;
  'index-name'?: string;
  oversample?: number;
  rescore?: boolean;
}

/** Whether the options name an OpenSearch index rather than a local folder. */
export function isRemote(values: BackendValues): boolean {
  return values.backend === 'opensearch';
}

/** Options of the OpenSearch backend are refused without it rather than ignored; with it, --url and --index-name are needed. */
export function checkBackendValues(values: BackendValues): void {
  if (!isRemote(values)) {
    for (const name of ['url', 'index-name', 'oversample', 'rescore'] as const) {
      if (values[name] !== undefined) throw new SemsearchError('INVALID_ARGUMENT', `--${name} is an option of --backend opensearch`, { field: `--${name}` });
    }
    return;
  }
  if (values.url === undefined) throw new SemsearchError('INVALID_ARGUMENT', '--backend opensearch needs --url, e.g. --url http://127.0.0.1:9200', { field: '--url' });
  if (values['index-name'] === undefined) throw new SemsearchError('INVALID_ARGUMENT', '--backend opensearch needs --index-name', { field: '--index-name' });
}

/**
 * The Searcher the options name: the local index in `dir`, or the OpenSearch index `--index-name` at `--url`.
 * Options of the other backend are refused rather than ignored.
 */
export async function openSearcher(
  values: BackendValues,
  dir: string | undefined,
  o: { model?: SentenceTransformer; threads?: number; device?: Device; onWarning?: (m: string) => void } = {},
): Promise<Searcher> {
  checkBackendValues(values);
  if (!isRemote(values)) {
    if (dir === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'give an index folder, or --backend opensearch --url … --index-name …', { field: 'index' });
    // Loaded on demand, as the cluster client below: commands that name a backend show --help without SQLite,
    // usearch or ONNX Runtime.
    const { openIndex } = await import('../store/search-index.js');
    return openIndex(dir, { ...(o.model !== undefined ? { model: o.model } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.device !== undefined ? { device: o.device } : {}), ...(o.onWarning !== undefined ? { onWarning: o.onWarning } : {}) });
  }
  // Loaded on demand: the cluster client is needed only by this backend.
  const { OpenSearchIndex } = await import('../opensearch/opensearch-index.js');
  return OpenSearchIndex.open({
    url: values.url as string,
    indexName: values['index-name'] as string,
    ...(values.oversample !== undefined ? { oversample: values.oversample } : {}),
    ...(values.rescore === true ? { rescore: true } : {}),
    ...(o.model !== undefined ? { model: o.model } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.device !== undefined ? { device: o.device } : {}),
    ...(o.onWarning !== undefined ? { onWarning: o.onWarning } : {}),
  });
}
