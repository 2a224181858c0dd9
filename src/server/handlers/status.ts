import type { Batcher } from '../batcher.js';
import { httpError } from '../http-errors.js';
import type { Metrics } from '../metrics.js';
import type { ServerConfig } from '../options.js';
import type { GetRoute } from '../router.js';
import type { ServerState } from '../state.js';

export interface StatusParts {
  state: ServerState;
  batcher: Batcher;
  metrics: Metrics;
  config: Pick<ServerConfig, 'limits' | 'batching' | 'workers'>;
}

/** GET /health, /ready, /info, /metrics: what the server says about itself. */
export function statusRoutes({ state, batcher, metrics, config }: StatusParts): Record<string, GetRoute> {
  const { limits, batching, workers } = config;
  return {
    '/health': { method: 'GET', get: () => ({ status: 200, body: { status: 'ok' } }) },
    '/ready': {
      method: 'GET',
      get: () => {
        if (state.ready) return { status: 200, body: { ready: true } };
        const why = state.closing ? 'the server is shutting down' : state.loadError !== undefined ? `the index could not be loaded: ${state.loadError.code}` : 'the model and index are loading';
        return httpError('SERVER_NOT_READY', why);
      },
    },
    '/info': {
      method: 'GET',
      get: () => {
        if (state.summary === undefined) return httpError('SERVER_NOT_READY', 'the model and index are loading');
        return {
          status: 200,
          body: {
            ...state.summary,
            limits,
            batching: {
              enabled: batching.batching,
              maxBatch: batching.maxBatch,
              maxWaitMs: batching.maxWaitMs,
              // The batcher's own default and cap, so /info shows the wait that applies.
              quietMs: Math.min(batching.quietMs ?? 1, batching.maxWaitMs),
              maxQueue: batching.maxQueue,
              workers,
            },
          },
        };
      },
    },
    '/metrics': {
      method: 'GET',
      get: () => ({
        status: 200,
        type: 'text/plain; version=0.0.4; charset=utf-8',
        body: metrics.render({ queueDepth: batcher.depth, inFlightBatches: batcher.inFlight, inFlightRequests: state.inFlight, ready: state.ready }),
      }),
    },
  };
}
