import { Batcher } from './batcher.js';
import { jobRoutes } from './handlers/jobs.js';
import { compatRoutes } from './handlers/compat.js';
import { openApiRoute } from './handlers/openapi.js';
import { loadPage } from './handlers/page.js';
import { statusRoutes } from './handlers/status.js';
import { closer, createHttp, listen, startWorkers } from './lifecycle.js';
import { Metrics } from './metrics.js';
import { resolveOptions, type ServeOptions } from './options.js';
import { Router } from './router.js';
import { buildSchemas } from './schemas.js';
import { ServerState } from './state.js';

export type { ServeOptions } from './options.js';

export interface SemsearchServer {
  url: string;
  host: string;
  port: number;
  /** Resolves once the model and index are loaded in every worker; rejects when they cannot be. */
  ready: Promise<void>;
  /** Stop accepting connections, finish the requests in flight, stop the workers. */
  close(): Promise<void>;
}

/**
 * Serve an index over HTTP: POST /search, /encode, /similarity; GET /info, /health, /ready, /metrics,
 * /openapi.json; the search page at /. Inference runs in worker threads behind a dynamic batcher.
 */
export async function createServer(options: ServeOptions): Promise<SemsearchServer> {
  const config = resolveOptions(options);
  const batcher = new Batcher(config.batching);
  const metrics = new Metrics();
  batcher.onBatch = (requests, texts) => {
    metrics.batchRequests.observe(requests);
    metrics.batchTexts.observe(texts);
  };
  // Queued requests whose client left (a deadline's drops are counted with the cancellations).
  batcher.onDrop = (e) => {
    if (e.code === 'CLIENT_GONE') metrics.dropped.inc();
  };
  const state = new ServerState();
  const schemas = buildSchemas(config.limits);
  const routes = {
    ...jobRoutes(schemas, config.limits, { readOnly: config.readOnly }),
    ...compatRoutes(config.limits, state),
    ...statusRoutes({ state, batcher, metrics, config }),
    '/openapi.json': openApiRoute(schemas),
  };
  const router = new Router({ routes, page: loadPage(), state, batcher, metrics, config });
  const http = createHttp(config, router.listener);
  const port = await listen(http, config.host, config.port);
  // Workers start once the port is taken: a port in use fails fast, before a model is loaded for nothing.
  batcher.onQueueWait = (seconds) => metrics.stages.observe(seconds, { stage: 'queue' });
  const workers = startWorkers(config, batcher, state, (s) => {
    metrics.stages.observe(s.tokenizeMs / 1000, { stage: 'tokenize' });
    metrics.stages.observe(s.inferenceMs / 1000, { stage: 'inference' });
    if (s.searchMs > 0 || s.fetchMs > 0) {
      metrics.stages.observe(s.searchMs / 1000, { stage: 'search' });
      metrics.stages.observe(s.fetchMs / 1000, { stage: 'fetch' });
    }
    if (s.rerankMs > 0) metrics.stages.observe(s.rerankMs / 1000, { stage: 'rerank' });
  });
  const close = closer({ http, state, batcher, workers, shutdownTimeoutMs: config.shutdownTimeoutMs });
  const { host } = config;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (config.waitForReady) {
    try {
      await workers.ready;
    } catch (e) {
      await close();
      throw e;
    }
  }
  return { url, host, port, ready: workers.ready, close };
}
