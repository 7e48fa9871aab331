import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createMetrics } from '../src/metrics.js';
import { createLogger } from '../src/logger.js';
import type { RecommenderInfo } from '../src/types.js';

function sampleValue(text: string, metric: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{${labels}}`) || (labels === '' && l.startsWith(`${metric} `)));
  assert.ok(line, `no sample ${metric}{${labels}} in:\n${text}`);
  return Number(line.split(' ').pop());
}

const INFO: RecommenderInfo = {
  bundle: { name: 'tiny', version: '1', backbone: 'b', dim: 8, variant: 'full', textFormat: 'lecr-breadcrumb-v1', sha256: 'x' },
  selection: { margin: 0.16, maxCandidates: 128, minItems: 1 },
  index: { total: 5, languages: [{ language: 'en', size: 3, kind: 'exact' }, { language: 'es', size: 2, kind: 'hnsw' }], snapshotVersion: 7 },
  knownTopics: 4,
};

test('stage observer, batches, HTTP and gRPC calls are exported', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  for (const s of ['tokenize', 'queue', 'inference', 'search', 'select'] as const) metrics.observer.stage(s, 0.002);
  metrics.observer.stage('inference', 0.5);
  metrics.observer.batch(16, 640);
  metrics.observeHttp('POST', '/recommend', 200, 0.03);
  metrics.observeHttp('POST', '/recommend', 200, 0.01);
  metrics.observeHttp('POST', '/recommend', 400, 0.001);
  metrics.observeGrpc('Recommend', 'OK', 0.02);
  metrics.observeGrpc('UpsertContent', 'INVALID_ARGUMENT', 0.001);
  const text = await metrics.render();
  assert.equal(sampleValue(text, 'recommender_stage_duration_seconds_count', 'stage="inference"'), 2);
  assert.equal(sampleValue(text, 'recommender_stage_duration_seconds_count', 'stage="select"'), 1);
  assert.equal(sampleValue(text, 'recommender_stage_duration_seconds_sum', 'stage="inference"'), 0.502);
  assert.equal(sampleValue(text, 'recommender_batch_size_sum', ''), 16);
  assert.equal(sampleValue(text, 'recommender_batch_tokens_sum', ''), 640);
  assert.equal(sampleValue(text, 'http_requests_total', 'method="POST",route="/recommend",status="200"'), 2);
  assert.equal(sampleValue(text, 'http_requests_total', 'method="POST",route="/recommend",status="400"'), 1);
  assert.equal(sampleValue(text, 'http_request_duration_seconds_count', 'method="POST",route="/recommend",status="200"'), 2);
  assert.equal(sampleValue(text, 'grpc_server_handled_total', 'method="UpsertContent",code="INVALID_ARGUMENT"'), 1);
  assert.equal(sampleValue(text, 'grpc_server_handling_seconds_count', 'method="Recommend",code="OK"'), 1);
  assert.equal(sampleValue(text, 'recommender_ready', ''), 0, 'not ready before an info source is set');
});

test('index gauges read the recommender at scrape time and follow changes', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  let info = INFO;
  metrics.setInfoSource(() => ({ info, ready: true }));
  let text = await metrics.render();
  assert.equal(sampleValue(text, 'recommender_index_items', 'language="en",kind="exact"'), 3);
  assert.equal(sampleValue(text, 'recommender_index_items', 'language="es",kind="hnsw"'), 2);
  assert.equal(sampleValue(text, 'recommender_index_snapshot_version', ''), 7);
  assert.equal(sampleValue(text, 'recommender_known_topics', ''), 4);
  assert.equal(sampleValue(text, 'recommender_ready', ''), 1);
  info = { ...INFO, index: { total: 1, languages: [{ language: 'fr', size: 1, kind: 'exact' }], snapshotVersion: 8 } };
  text = await metrics.render();
  assert.equal(sampleValue(text, 'recommender_index_items', 'language="fr",kind="exact"'), 1);
  assert.ok(!text.includes('language="en"'), 'a language that left the index is no longer reported');
  metrics.setInfoSource(() => {
    throw new Error('closing');
  });
  text = await metrics.render();
  assert.equal(sampleValue(text, 'recommender_ready', ''), 0, 'a failing source reads as not ready, not a failed scrape');
});

test('two metric sets do not share a registry; default process metrics are on by default', async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.observeHttp('GET', '/healthz', 200, 0.001);
  assert.match(await a.render(), /process_cpu_user_seconds_total/);
  assert.doesNotMatch(await b.render(), /route="\/healthz"/);
});

test('logger writes one JSON object per line at the configured level', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'warn', destination: sink });
  logger.info('hidden');
  logger.warn({ field: 'x' }, 'shown');
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]);
  assert.equal(record.level, 'warn');
  assert.equal(record.msg, 'shown');
  assert.equal(record.field, 'x');
  assert.equal(record.service, 'recommender');
});
