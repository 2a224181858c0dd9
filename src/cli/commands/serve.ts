import { readFile } from 'node:fs/promises';
import { SemsearchError } from '../../errors.js';
import { checkToken } from '../../server/auth.js';
import { checkBackendValues, isRemote } from '../backend.js';
import { defineCommand } from '../command.js';
import { BACKEND_OPTIONS, CROSS_ENCODER_OPTION, DEVICE_OPTION, deviceOption } from '../options.js';

function list(v: string): string[] {
  return v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** `semsearch serve <index> [--port 8080] [--host 127.0.0.1]`: the HTTP API and the search page, until SIGTERM or Ctrl-C. */
export const serveCommand = defineCommand({
  name: 'serve',
  usage: 'usage: semsearch serve <index-dir> [--port 8080] [--host 127.0.0.1]\n       semsearch serve --backend opensearch --url <url> --index-name <name> [--port 8080]',
  options: {
    port: { type: 'number', short: 'p', description: 'port to listen on (default 8080; 0 picks a free one)' },
    host: { type: 'string', description: 'address to listen on (default 127.0.0.1, this machine only)' },
    workers: { type: 'number', description: 'inference worker threads, each with its own copy of the model (default: the rule semsearch doctor prints)' },
    threads: { type: 'number', description: 'ONNX Runtime threads per worker (default: the rule semsearch doctor prints; with --workers alone, every core shared by the workers)' },
    device: DEVICE_OPTION,
    'no-batching': { type: 'boolean', description: 'send every request to a worker alone instead of batching concurrent ones' },
    'max-batch': { type: 'number', description: 'texts per batch (default 32)' },
    'max-wait-ms': { type: 'number', description: 'longest wait of a request for others to share its batch (default 5)' },
    'quiet-ms': { type: 'number', description: 'the batching wait ends once no request has arrived for this long (default 1)' },
    'max-queue': { type: 'number', description: 'requests waiting for a worker before 503 (default 256)' },
    'max-texts': { type: 'number', description: 'texts per request list (default 64)' },
    'max-k': { type: 'number', description: 'largest k for /search (default 100)' },
    'max-body': { type: 'number', description: 'request body limit in bytes (default 1048576)' },
    'max-rerank-pairs': { type: 'number', description: 'cross-encoder pairs per request: /search queries × rerank_depth, /rerank texts (default 1000; more: 400 LIMIT_EXCEEDED)' },
    'request-timeout-ms': { type: 'number', description: "a request's deadline: past it 504 DEADLINE_EXCEEDED and its work stops (default 30000; a request's timeout_ms may ask for less)" },
    'allowed-host': { type: 'string', description: 'comma-separated host names to answer to besides the listening address (a Host header naming anything else gets 403)' },
    cors: { type: 'string', description: "comma-separated origins allowed to call the API from a browser (default none; '*' for any)" },
    'max-connections': { type: 'number', description: 'open connections at most (default 256)' },
    'shutdown-timeout-ms': { type: 'number', description: 'at SIGTERM or Ctrl-C, how long requests in flight may finish (default 30000); later ones are answered 503 with Retry-After' },
    'read-only': { type: 'boolean', description: 'serve no write endpoints (POST /documents, DELETE /documents/{id}); searches still see other writers\' commits' },
    'token-file': { type: 'string', description: 'a file holding the bearer token the write endpoints require (Authorization: Bearer <token>); default: the SEMSEARCH_TOKEN environment variable, else none' },
    'insecure-writes': { type: 'boolean', description: 'accept writes without a token on an address other machines can reach (refused otherwise unless --read-only or a token)' },
    'cross-encoder': {
      ...CROSS_ENCODER_OPTION,
      description: 'a cross-encoder (folder or hub name) each worker loads: /search re-ranks with it when a request says "rerank": true, and POST /rerank scores with it',
      deprecated: ['rerank'],
    },
    ...BACKEND_OPTIONS,
  },
  args: [{ name: 'index' }],
  async run({ values, args, io }) {
    checkBackendValues(values);
    const remote = isRemote(values);
    const dir = args[0];
    if (remote && dir !== undefined) throw new SemsearchError('INVALID_ARGUMENT', `--backend opensearch serves the index --index-name names; drop the folder ${JSON.stringify(dir)}`, { field: 'index' });
    if (!remote && dir === undefined) throw new SemsearchError('INVALID_ARGUMENT', 'serve needs an index folder, or --backend opensearch --url <url> --index-name <name>', { field: 'index' });
    const limits = {
      ...(values['max-texts'] !== undefined ? { maxTexts: values['max-texts'] } : {}),
      ...(values['max-k'] !== undefined ? { maxK: values['max-k'] } : {}),
      ...(values['max-body'] !== undefined ? { maxBodyBytes: values['max-body'] } : {}),
      ...(values['max-rerank-pairs'] !== undefined ? { maxRerankPairs: values['max-rerank-pairs'] } : {}),
    };
    // The token: a file (its contents, the final newline dropped) or the environment, never a command-line value
    // (which every user of the machine can read in the process list).
    let token: string | undefined;
    if (values['token-file'] !== undefined) {
      const file = values['token-file'];
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (cause) {
        throw new SemsearchError('FILE_NOT_FOUND', `cannot read the token file ${file}: ${(cause as Error).message}`, { file, field: '--token-file', cause });
      }
      token = checkToken(text.replace(/\r?\n$/, ''), `the token in ${file}`);
    } else if (io.env.SEMSEARCH_TOKEN !== undefined) {
      token = checkToken(io.env.SEMSEARCH_TOKEN, 'SEMSEARCH_TOKEN');
    }
    // Imported here, not at the top, so `serve --help` loads none of the server, ONNX Runtime, SQLite or usearch.
    const { createServer } = await import('../../server/server.js');
    const server = await createServer({
      ...(remote
        ? {
            opensearch: {
              url: values.url as string,
              indexName: values['index-name'] as string,
              ...(values.oversample !== undefined ? { oversample: values.oversample } : {}),
              ...(values.rescore === true ? { rescore: true } : {}),
            },
          }
        : { index: dir as string }),
      port: values.port ?? 8080,
      host: values.host ?? '127.0.0.1',
      batching: values['no-batching'] !== true,
      limits,
      log: (line) => io.stderr.write(`${line}\n`),
      ...(values['cross-encoder'] !== undefined ? { rerank: values['cross-encoder'] } : {}),
      ...(values['workers'] !== undefined ? { workers: values['workers'] } : {}),
      ...(values['threads'] !== undefined ? { threads: values['threads'] } : {}),
      ...deviceOption(values),
      ...(values['max-batch'] !== undefined ? { maxBatch: values['max-batch'] } : {}),
      ...(values['max-wait-ms'] !== undefined ? { maxWaitMs: values['max-wait-ms'] } : {}),
      ...(values['max-queue'] !== undefined ? { maxQueue: values['max-queue'] } : {}),
      ...(values['quiet-ms'] !== undefined ? { quietMs: values['quiet-ms'] } : {}),
      ...(values['max-connections'] !== undefined ? { maxConnections: values['max-connections'] } : {}),
      ...(values['shutdown-timeout-ms'] !== undefined ? { shutdownTimeoutMs: values['shutdown-timeout-ms'] } : {}),
      ...(values['allowed-host'] !== undefined ? { allowedHosts: list(values['allowed-host']) } : {}),
      ...(values.cors !== undefined ? { corsOrigins: list(values.cors) } : {}),
      ...(values['read-only'] === true ? { readOnly: true } : {}),
      ...(values['request-timeout-ms'] !== undefined ? { requestTimeoutMs: values['request-timeout-ms'] } : {}),
      ...(values['insecure-writes'] === true ? { insecureWrites: true } : {}),
      ...(token !== undefined ? { token } : {}),
    });
    io.stdout.write(`semsearch serve: listening on ${server.url} (search page at ${server.url}/, API in ${server.url}/openapi.json)\n`);
    if (values['read-only'] !== true) io.stderr.write(`semsearch serve: write endpoints ${token !== undefined ? 'need the bearer token' : 'are open to whoever reaches this address (no token)'}\n`);
    // Stay up until a signal; then stop accepting, answer what is in flight, and exit 0.
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        io.stderr.write(`semsearch serve: ${signal}: finishing requests in flight, then exiting\n`);
        void server.close().then(resolve);
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    io.stderr.write('semsearch serve: stopped\n');
    return 0;
  },
});
