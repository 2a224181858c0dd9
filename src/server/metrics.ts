/**
 * Prometheus text exposition (format 0.0.4) for the few series the server keeps. Label values come from
 * fixed sets (routes, methods, statuses), never from the request, so a scanner cannot grow the series.
 */
type Labels = Record<string, string>;

function labelText(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(n: number): string {
  return n === Number.POSITIVE_INFINITY ? '+Inf' : String(n);
}

class Counter {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const v = this.values.get(key);
    if (v === undefined) this.values.set(key, { labels, value: by });
    else v.value += by;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${num(value)}`);
    return lines.join('\n');
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= (this.buckets[i] as number)) s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: num(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${num(s.sum)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class Metrics {
  readonly requests = new Counter('semsearch_http_requests_total', 'HTTP requests answered, by route, method and status');
  readonly latency = new Histogram('semsearch_http_request_duration_seconds', 'Time from request start to the last byte of the response', [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]);
  readonly batchTexts = new Histogram('semsearch_batch_texts', 'Texts per batch sent to an inference worker', [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  readonly batchRequests = new Histogram('semsearch_batch_requests', 'Requests per batch sent to an inference worker', [1, 2, 4, 8, 16, 32, 64]);
  readonly stages = new Histogram(
    'semsearch_stage_duration_seconds',
    'Where request time goes, by stage: queue (per request, waiting for a worker), tokenize, inference, search, fetch, rerank (per batch, in the worker), serialize (per request, JSON of the response)',
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  readonly rejected = new Counter('semsearch_queue_rejected_total', 'Requests refused with 503 because the queue was full');
  readonly dropped = new Counter('semsearch_queue_dropped_total', 'Queued requests dropped, not computed, because their client disconnected');
  readonly cancelled = new Counter(
    'semsearch_requests_cancelled_total',
    'Requests stopped before their answer, by reason: client_gone (the client disconnected) or deadline (the request timeout passed; answered 504); queued ones are dropped, running ones stop at the next batch',
  );

  constructor() {
    // Both reasons are listed from the start, at 0, so a dashboard sees the series before the first cancellation.
    for (const reason of ['client_gone', 'deadline']) this.cancelled.inc({ reason }, 0);
  }

  render(gauges: { queueDepth: number; inFlightBatches: number; inFlightRequests: number; ready: boolean }): string {
    const gauge = (name: string, help: string, v: number): string => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${num(v)}`;
    const mem = process.memoryUsage();
    return (
      [
        this.requests.render(),
        this.latency.render(),
        this.batchTexts.render(),
        this.batchRequests.render(),
        this.stages.render(),
        this.rejected.render(),
        this.dropped.render(),
        this.cancelled.render(),
        gauge('semsearch_queue_depth', 'Requests waiting for an inference worker', gauges.queueDepth),
        gauge('semsearch_batches_in_flight', 'Batches being computed by workers', gauges.inFlightBatches),
        gauge('semsearch_http_requests_in_flight', 'HTTP requests being answered', gauges.inFlightRequests),
        gauge('semsearch_ready', '1 when the model and index are loaded', gauges.ready ? 1 : 0),
        gauge('process_resident_memory_bytes', 'Resident memory of the server process, workers included', mem.rss),
        gauge('nodejs_heap_used_bytes', 'V8 heap used on the main thread', mem.heapUsed),
      ].join('\n') + '\n'
    );
  }
}
