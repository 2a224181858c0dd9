import { SemsearchError } from '../errors.js';
import { displayUrl, hubRequest, type HttpSettings } from './http.js';
import { isCommitHash } from './names.js';

/**
 * The two questions semsearch asks the hub, with the endpoints and headers huggingface_hub uses:
 * GET /api/models/{repo}/revision/{rev} (which commit, which files) and HEAD /{repo}/resolve/{commit}/{file}
 * (which blob, how big, where to fetch it).
 */
export interface RepoInfo {
  commit: string;
  files: string[];
}

export interface FileMetadata {
  commit: string;
  /** Blob name in the cache: git sha1 for small files, sha256 for LFS files. */
  etag: string;
  size: number;
  /** Where to GET the bytes: the CDN for LFS files, the resolve URL otherwise. */
  location: string;
  /** The sha256 the content must have, known for LFS files only. */
  sha256: string | undefined;
}

function encodePath(filename: string): string {
  return filename.split('/').map(encodeURIComponent).join('/');
}

export function resolveUrl(endpoint: string, repoId: string, revision: string, filename: string): string {
  return `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${encodePath(filename)}`;
}

export function repoInfoUrl(endpoint: string, repoId: string, revision: string): string {
  return `${endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}`;
}

export async function fetchRepoInfo(s: HttpSettings, repoId: string, revision: string): Promise<RepoInfo> {
  const url = repoInfoUrl(s.endpoint, repoId, revision);
  const what = `model ${repoId} at revision ${revision}`;
  const { response } = await hubRequest(url, s, { redirects: 'all', what, headers: { accept: 'application/json' } });
  let body: unknown;
  try {
    body = await response.json();
  } catch (e) {
    throw new SemsearchError('HUB_HTTP_ERROR', `${what}: ${displayUrl(url)} did not answer with JSON; is HF_ENDPOINT a hub?`, { cause: e });
  }
  const info = body as { sha?: unknown; siblings?: unknown };
  const siblings = Array.isArray(info.siblings) ? (info.siblings as { rfilename?: unknown }[]) : undefined;
  if (typeof info.sha !== 'string' || !isCommitHash(info.sha) || siblings === undefined) {
    throw new SemsearchError('HUB_HTTP_ERROR', `${what}: the answer from ${displayUrl(url)} lacks 'sha' or 'siblings'; is HF_ENDPOINT a hub?`, {
      field: 'sha',
    });
  }
  const files = siblings.map((f) => f.rfilename).filter((f): f is string => typeof f === 'string');
  return { commit: info.sha, files };
}

/** `W/"abc"` and `"abc"` both name blob `abc`, as huggingface_hub's _normalize_etag has it. */
export function normalizeEtag(etag: string | null): string | undefined {
  if (etag === null) return undefined;
  const v = etag.replace(/^W\//, '').replace(/^"|"$/g, '');
  return v === '' ? undefined : v;
}

function intHeader(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

export async function fetchFileMetadata(s: HttpSettings, repoId: string, commit: string, filename: string): Promise<FileMetadata> {
  const url = resolveUrl(s.endpoint, repoId, commit, filename);
  const what = `file ${filename} of ${repoId} at ${commit}`;
  const { response, url: answered } = await hubRequest(url, s, { method: 'HEAD', redirects: 'relative', what });
  const h = response.headers;
  const linked = normalizeEtag(h.get('x-linked-etag'));
  const etag = linked ?? normalizeEtag(h.get('etag'));
  const size = intHeader(h.get('x-linked-size')) ?? intHeader(h.get('content-length'));
  const fileCommit = h.get('x-repo-commit');
  if (fileCommit === null || etag === undefined || size === undefined) {
    const missing = fileCommit === null ? 'X-Repo-Commit' : etag === undefined ? 'ETag' : 'X-Linked-Size or Content-Length';
    throw new SemsearchError(
      'HUB_HTTP_ERROR',
      `${what}: the answer from ${displayUrl(answered)} has no ${missing} header, so the file cannot be cached reliably; ` +
        'check HF_ENDPOINT and any proxy between you and the hub',
      { field: missing },
    );
  }
  const location = h.get('location');
  return {
    commit: fileCommit,
    etag,
    size,
    location: location === null ? answered : new URL(location, answered).toString(),
    sha256: /^[0-9a-f]{64}$/.test(etag) ? etag : undefined,
  };
}
