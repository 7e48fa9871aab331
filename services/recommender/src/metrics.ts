// Prometheus metrics on a registry of our own (not prom-client's global one), so several app
// instances in one process (tests) never collide. Routes are labelled by their pattern, never by
// the raw URL, to keep label cardinality bounded.
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';
import type { RecommenderInfo, StageObserver } from './types.js';

// Stage timings run from ~50 µs (selection of a few items) to seconds (a big CPU batch).
const STAGE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ServiceMetrics {
  registry: Registry;
  /** Implements the core's StageObserver: pass it to createRecommender({ observer }). */
  observer: StageObserver;
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  observeGrpc(method: string, code: string, seconds: number): void;
  /** Where index-size gauges read from at scrape time (set once the recommender exists). */
  setInfoSource(source: (() => { info: RecommenderInfo | null; ready: boolean }) | null): void;
  /** Prometheus text exposition of every metric. */
  render(): Promise<string>;
  contentType: string;
}

export function createMetrics({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}): ServiceMetrics {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const grpcCalls = new Counter({
    name: 'grpc_server_handled_total',
    help: 'gRPC calls by method and status code',
    labelNames: ['method', 'code'] as const,
    registers: [registry],
  });
  const grpcDuration = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'gRPC call latency by method and status code',
    labelNames: ['method', 'code'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const stageDuration = new Histogram({
    name: 'recommender_stage_duration_seconds',
    help: 'Time spent per pipeline stage: tokenize, queue (waiting for a batch), inference, search, select',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'recommender_batch_size',
    help: 'Texts per encoder batch',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  const batchTokens = new Histogram({
    name: 'recommender_batch_tokens',
    help: 'Tokens (padded batch size × length) per encoder batch',
    buckets: [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768],
    registers: [registry],
  });

  let infoSource: (() => { info: RecommenderInfo | null; ready: boolean }) | null = null;
  const snapshot = () => {
    if (!infoSource) return { info: null, ready: false };
    try {
      return infoSource();
    } catch {
      return { info: null, ready: false }; // a scrape must never fail because the core is closing
    }
  };
  new Gauge({
    name: 'recommender_index_items',
    help: 'Content items in the index, per language',
    labelNames: ['language', 'kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const l of snapshot().info?.index.languages ?? []) this.set({ language: l.language, kind: l.kind }, l.size);
    },
  });
  new Gauge({
    name: 'recommender_index_snapshot_version',
    help: 'Version counter of the content index (increases on every write)',
    registers: [registry],
    collect() {
      const info = snapshot().info;
      if (info) this.set(info.index.snapshotVersion);
    },
  });
  new Gauge({
    name: 'recommender_known_topics',
    help: 'Topics registered for recommendation by id',
    registers: [registry],
    collect() {
      const info = snapshot().info;
      if (info) this.set(info.knownTopics);
    },
  });
  new Gauge({
    name: 'recommender_ready',
    help: '1 when the recommender is loaded and serving, else 0',
    registers: [registry],
    collect() {
      this.set(snapshot().ready ? 1 : 0);
    },
  });

  const observer: StageObserver = {
    stage(name, seconds) {
      stageDuration.observe({ stage: name }, seconds);
    },
    batch(size, tokens) {
      batchSize.observe(size);
      batchTokens.observe(tokens);
    },
  };

  return {
    registry,
    observer,
    observeHttp(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },
    observeGrpc(method, code, seconds) {
      grpcCalls.inc({ method, code });
      grpcDuration.observe({ method, code }, seconds);
    },
    setInfoSource(source) {
      infoSource = source;
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
