import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';

/**
 * A look-alike of the Hugging Face hub on loopback, for tests and for the Python interoperation script: the model
 * API, the resolve endpoint with the hub's headers (X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size, X-Error-Code),
 * LFS files redirected to a second server playing the CDN (another port, so another host for token scoping), Range
 * requests, and faults on demand: error statuses, slow, stalled, truncated and corrupted responses.
 */

export type Files = Map<string, Buffer>;

export interface FixtureRepo {
  id: string;
  /** commit id → files (path → content) */
  commits: Map<string, Files>;
  /** branch or tag → commit id */
  refs: Map<string, string>;
  /** Needs `Authorization: Bearer <token>` with the server's token. */
  private?: boolean;
}

export interface RequestRecord {
  server: 'hub' | 'cdn';
  method: string;
  /** Path with query, as received. */
  url: string;
  range: string | undefined;
  authorization: string | undefined;
  at: number;
}

export interface Fault {
  server?: 'hub' | 'cdn';
  method?: string;
  /** Matches when the decoded path contains this text. */
  pathIncludes?: string;
  /** How many matching requests it applies to (default: all). */
  times?: number;
  status?: number;
  headers?: Record<string, string>;
  /** Wait this long before sending the status line. */
  delayHeadersMs?: number;
  /** Wait for this before sending the status line: lets a test line up two clients. */
  gate?: Promise<void>;
  /** Send the body in chunks of `chunkBytes`, pausing `delayMs` between them. */
  slow?: { chunkBytes: number; delayMs: number };
  /** Send this many body bytes, then drop the connection (Content-Length still announces the full size). */
  truncateAfter?: number;
  /** Send this many body bytes, then go silent without closing. */
  stallAfter?: number;
  /** Flip the bytes of the body, keeping its length: a wrong hash. */
  corrupt?: boolean;
}

export const LFS_EXTENSIONS = ['.onnx', '.onnx_data', '.safetensors', '.bin', '.h5', '.msgpack', '.ot'];

export function isLfsPath(path: string): boolean {
  return LFS_EXTENSIONS.some((ext) => path.endsWith(ext));
}

export function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

function lfsPointer(content: Buffer): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(content)}\nsize ${content.length}\n`);
}

/** The blob name huggingface_hub gives a file in its cache: sha256 for LFS files, git sha1 otherwise. */
export function expectedEtag(path: string, content: Buffer): string {
  return isLfsPath(path) ? sha256(content) : gitBlobSha1(content);
}

/** Every file under `dir`, keyed by its repo path with forward slashes. */
export function readFolder(dir: string): Files {
  const files: Files = new Map();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p).split(sep).join('/'), readFileSync(p));
    }
  };
  walk(dir);
  return files;
}

/** A commit id derived from the content, so the same fixture always gets the same commit. */
export function commitIdOf(files: Files): string {
  const h = createHash('sha1');
  for (const [p, c] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) h.update(p).update('\0').update(gitBlobSha1(c));
  return h.digest('hex');
}

export class HubServer {
  readonly requests: RequestRecord[] = [];
  readonly faults: Fault[] = [];
  readonly repos = new Map<string, FixtureRepo>();
  /** Old repo id → new one: the hub answers a renamed repo with a relative 307 to the new name. */
  readonly renames = new Map<string, string>();
  readonly token: string | undefined;
  private readonly blobs = new Map<string, Buffer>();
  private hub!: Server;
  private cdn!: Server;
  endpoint = '';
  cdnEndpoint = '';

  constructor(repos: FixtureRepo[], token?: string) {
    this.token = token;
    for (const r of repos) this.addRepo(r);
  }

  addRepo(repo: FixtureRepo): void {
    this.repos.set(repo.id, repo);
    for (const files of repo.commits.values()) for (const [p, c] of files) if (isLfsPath(p)) this.blobs.set(sha256(c), c);
  }

  addFault(f: Fault): void {
    this.faults.push(f);
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  async start(): Promise<this> {
    this.hub = createServer((req, res) => void this.handle('hub', req, res));
    this.cdn = createServer((req, res) => void this.handle('cdn', req, res));
    const listen = (s: Server): Promise<number> =>
      new Promise((ok) => s.listen(0, '127.0.0.1', () => ok((s.address() as AddressInfo).port)));
    this.endpoint = `http://127.0.0.1:${await listen(this.hub)}`;
    this.cdnEndpoint = `http://127.0.0.1:${await listen(this.cdn)}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      s.closeAllConnections();
      await new Promise((ok) => s.close(ok));
    }
  }

  private takeFault(server: 'hub' | 'cdn', method: string, path: string): Fault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        (f.server === undefined || f.server === server) &&
        (f.method === undefined || f.method === method) &&
        (f.pathIncludes === undefined || path.includes(f.pathIncludes)) &&
        (f.times === undefined || f.times > 0),
    );
    if (i < 0) return undefined;
    const f = this.faults[i] as Fault;
    if (f.times !== undefined) f.times--;
    return f;
  }

  private async handle(server: 'hub' | 'cdn', req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const path = decodeURIComponent(url.split('?')[0] ?? '/');
    if (path === '/__requests') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.requests));
      return;
    }
    if (path === '/__faults') {
      // Lets a script in another language (the Python interoperation check) inject faults: POST one, DELETE all.
      if (method === 'DELETE') this.clearFaults();
      else {
        let body = '';
        for await (const chunk of req) body += String(chunk);
        this.addFault(JSON.parse(body) as Fault);
      }
      res.writeHead(204).end();
      return;
    }
    this.requests.push({
      server,
      method,
      url,
      range: req.headers.range,
      authorization: req.headers.authorization,
      at: Date.now(),
    });
    const fault = this.takeFault(server, method, path);
    try {
      if (fault?.delayHeadersMs !== undefined) await sleep(fault.delayHeadersMs);
      if (fault?.gate !== undefined) await fault.gate;
      if (res.destroyed) return;
      if (fault?.status !== undefined) {
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        res.end(method === 'HEAD' ? undefined : JSON.stringify({ error: `injected ${fault.status}` }));
        return;
      }
      if (server === 'cdn') await this.serveCdn(req, res, path, fault);
      else await this.serveHub(req, res, path, fault);
    } catch {
      res.destroy();
    }
  }

  private error(res: ServerResponse, status: number, code: string | undefined, message: string, extra: Record<string, string> = {}): void {
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'x-error-message': message, ...extra };
    if (code !== undefined) headers['x-error-code'] = code;
    res.writeHead(status, headers).end(JSON.stringify({ error: message }));
  }

  /** The real hub answers 401 for a missing repo when no token is sent, so as not to reveal private names. */
  private authorize(req: IncomingMessage, res: ServerResponse, repo: FixtureRepo | undefined): boolean {
    const auth = req.headers.authorization;
    if (auth !== undefined && this.token !== undefined && auth !== `Bearer ${this.token}`) {
      this.error(res, 401, undefined, 'Invalid credentials in Authorization header');
      return false;
    }
    if (repo === undefined || (repo.private === true && auth === undefined)) {
      this.error(res, auth === undefined ? 401 : 404, 'RepoNotFound', 'Repository not found');
      return false;
    }
    return true;
  }

  private findRepo(rest: string): { repo: FixtureRepo | undefined; tail: string } {
    for (const [id, repo] of this.repos) if (rest.startsWith(`${id}/`)) return { repo, tail: rest.slice(id.length + 1) };
    const parts = rest.split('/');
    return { repo: undefined, tail: parts.slice(2).join('/') };
  }

  private revision(repo: FixtureRepo, rev: string): string | undefined {
    if (repo.commits.has(rev)) return rev;
    return repo.refs.get(rev);
  }

  private async serveHub(req: IncomingMessage, res: ServerResponse, path: string, fault: Fault | undefined): Promise<void> {
    for (const [from, to] of this.renames) {
      for (const prefix of ['/api/models/', '/']) {
        if (path.startsWith(`${prefix}${from}/`)) {
          res.writeHead(307, { location: `${prefix}${to}/${(req.url ?? '').slice(prefix.length + from.length + 1)}` }).end();
          return;
        }
      }
    }
    if (path.startsWith('/api/models/')) {
      const { repo, tail } = this.findRepo(path.slice('/api/models/'.length));
      if (!this.authorize(req, res, repo) || repo === undefined) return;
      const m = /^revision\/(.+)$/.exec(tail);
      const rev = m?.[1] ?? 'main';
      const commit = this.revision(repo, rev);
      if (commit === undefined) {
        this.error(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
        return;
      }
      const files = repo.commits.get(commit) as Files;
      const body = JSON.stringify({
        _id: commit.slice(0, 24),
        id: repo.id,
        modelId: repo.id,
        private: repo.private === true,
        sha: commit,
        lastModified: '2024-01-01T00:00:00.000Z',
        library_name: 'sentence-transformers',
        tags: ['sentence-transformers', 'onnx'],
        siblings: [...files.keys()].map((rfilename) => ({ rfilename })),
      });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    const resolveAt = path.indexOf('/resolve/');
    if (resolveAt > 0) {
      const { repo, tail } = this.findRepo(path.slice(1));
      if (!this.authorize(req, res, repo) || repo === undefined) return;
      const after = tail.slice('resolve/'.length);
      // A revision may hold slashes (refs/pr/1); the longest known one that prefixes the path wins.
      const revs = [...repo.refs.keys(), ...repo.commits.keys()].sort((a, b) => b.length - a.length);
      const rev = revs.find((r) => after.startsWith(`${r}/`));
      const commit = rev === undefined ? undefined : this.revision(repo, rev);
      if (rev === undefined || commit === undefined) {
        this.error(res, 404, 'RevisionNotFound', 'Invalid rev id');
        return;
      }
      const file = after.slice(rev.length + 1);
      const content = repo.commits.get(commit)?.get(file);
      if (content === undefined) {
        this.error(res, 404, 'EntryNotFound', `${file} does not exist on "${rev}"`, { 'x-repo-commit': commit });
        return;
      }
      if (isLfsPath(file)) {
        const sha = sha256(content);
        const signature = randomBytes(8).toString('hex');
        const location = `${this.cdnEndpoint}/hop/${sha}?X-Amz-Signature=${signature}&response-content-disposition=${encodeURIComponent(`attachment; filename="${file.split('/').pop() ?? file}"`)}`;
        const body = `Found. Redirecting to ${location}`;
        res.writeHead(302, {
          location,
          'x-repo-commit': commit,
          etag: `"${gitBlobSha1(lfsPointer(content))}"`,
          'x-linked-etag': `"${sha}"`,
          'x-linked-size': String(content.length),
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'accept-ranges': 'bytes',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      await this.sendBody(req, res, content, { 'x-repo-commit': commit, etag: `"${gitBlobSha1(content)}"` }, fault);
      return;
    }
    this.error(res, 404, undefined, 'Not found');
  }

  private async serveCdn(req: IncomingMessage, res: ServerResponse, path: string, fault: Fault | undefined): Promise<void> {
    const url = req.url ?? '';
    const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
    const hop = /^\/hop\/([0-9a-f]{64})$/.exec(path);
    if (hop !== null) {
      // A second, relative redirect inside the CDN, as signed-URL services do.
      res.writeHead(307, { location: `/repos/${hop[1]}${query}` }).end();
      return;
    }
    const m = /^\/repos\/([0-9a-f]{64})$/.exec(path);
    const content = m === null ? undefined : this.blobs.get(m[1] as string);
    if (content === undefined) {
      res.writeHead(404).end('NoSuchKey');
      return;
    }
    await this.sendBody(req, res, content, { etag: `"${m?.[1]}"`, 'content-type': 'application/octet-stream' }, fault);
  }

  private async sendBody(req: IncomingMessage, res: ServerResponse, full: Buffer, headers: Record<string, string>, fault: Fault | undefined): Promise<void> {
    let start = 0;
    let end = full.length - 1;
    let status = 200;
    const range = req.headers.range;
    const common = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', ...headers };
    if (range !== undefined) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (m === null || Number(m[1]) >= full.length) {
        res.writeHead(416, { ...common, 'content-range': `bytes */${full.length}` }).end();
        return;
      }
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
      status = 206;
    }
    let body = full.subarray(start, end + 1);
    if (fault?.corrupt === true) body = Buffer.from(body.map((b) => b ^ 0xff));
    res.writeHead(status, {
      ...common,
      'content-length': body.length,
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${full.length}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const limit = fault?.truncateAfter ?? fault?.stallAfter;
    const toSend = limit === undefined ? body : body.subarray(0, Math.min(limit, body.length));
    if (fault?.slow !== undefined) {
      for (let i = 0; i < toSend.length && !res.destroyed; i += fault.slow.chunkBytes) {
        res.write(toSend.subarray(i, i + fault.slow.chunkBytes));
        await sleep(fault.slow.delayMs);
      }
    } else if (toSend.length > 0) {
      res.write(toSend);
    }
    if (fault?.truncateAfter !== undefined) {
      // Let the bytes leave before the drop, so the client sees a short body and not just a reset.
      await sleep(20);
      res.socket?.destroy();
      return;
    }
    if (fault?.stallAfter !== undefined) {
      await new Promise((ok) => res.on('close', ok));
      return;
    }
    res.end();
  }
}

export async function startHubServer(repos: FixtureRepo[], token?: string): Promise<HubServer> {
  return new HubServer(repos, token).start();
}
