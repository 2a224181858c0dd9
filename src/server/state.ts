import type { ServerResponse } from 'node:http';
import type { SemsearchError } from '../errors.js';
import type { IndexSummary } from './served.js';

/**
 * What the routes and the lifecycle of one server share: whether the index has loaded, whether the server is
 * shutting down, and the requests in flight that shutdown waits for. Each createServer has its own.
 */
export class ServerState {
  /** Set once every worker has loaded the index. */
  summary: IndexSummary | undefined;
  /** Set when the index could not be loaded: /ready says why. */
  loadError: SemsearchError | undefined;
  closing = false;
  private active = 0;
  private drained: (() => void) | undefined;

  get inFlight(): number {
    return this.active;
  }

  /** Ready to answer: loaded and not shutting down. */
  get ready(): boolean {
    return this.summary !== undefined && !this.closing;
  }

  requestStarted(res?: ServerResponse): void {
    this.active++;
    if (res !== undefined) this.responses.add(res);
  }

  requestEnded(res?: ServerResponse): void {
    this.active--;
    if (res !== undefined) this.responses.delete(res);
    if (this.active === 0) this.drained?.();
  }

  /** Requests in flight whose answer has not begun: what shutdown answers itself once its timeout has passed. */
  unanswered(): ServerResponse[] {
    return [...this.responses].filter((res) => !res.headersSent && !res.destroyed);
  }
  private readonly responses = new Set<ServerResponse>();

  /** Resolves once no request is in flight, or after `timeoutMs` when some still are. */
  drain(timeoutMs: number): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
