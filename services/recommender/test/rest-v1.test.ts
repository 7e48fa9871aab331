// The versioned /v1 API: wire ↔ core mapping and response shapes, on the in-memory double (the
// Studio contract and gRPC tests run the same operations on the real core and tiny bundle).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeRecommender } from './api-support/fake-recommender.js';
import { recording } from './api-support/recording.js';
import { startApp } from './api-support/http.js';

const CONTENT = [
  { id: 'c-frac-1', title: 'Adding fractions', description: 'like denominators', language: 'en', channel_id: 'ch-a', content_id: 'k1', kind: 'video', version: 1 },
  { id: 'c-frac-2', title: 'Fractions on a number line', language: 'en', channel_id: 'ch-b', version: 1 },
  { id: 'c-photo', title: 'Photosynthesis in plants', text: 'Light energy and chlorophyll', language: 'en', channel_id: 'ch-a' },
  { id: 'c-frac-es', title: 'Fracciones', language: 'es', channel_id: 'ch-a' },
];

async function withApp(fn: (app: Awaited<ReturnType<typeof startApp>>, fake: FakeRecommender, calls: ReturnType<typeof recording>['calls']) => Promise<void>) {
  const fake = new FakeRecommender();
  const { service, calls } = recording(fake);
  const app = await startApp(service);
  try {
    await fn(app, fake, calls);
  } finally {
    await app.close();
  }
}

test('PUT /v1/content upserts with version semantics', async () => {
  await withApp(async (app, fake) => {
    let res = await app.call('PUT', '/v1/content', { items: CONTENT });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { inserted: 4, updated: 0, skipped: 0 });
    assert.deepEqual(fake.items.get('c-frac-1'), { ...fake.items.get('c-frac-1'), id: 'c-frac-1', channelId: 'ch-a', contentId: 'k1', kind: 'video', version: 1 });
    res = await app.call('PUT', '/v1/content', { items: [{ ...CONTENT[0], version: 1 }, { ...CONTENT[1], title: 'Number lines', version: 2 }] });
    assert.deepEqual(res.json, { inserted: 0, updated: 1, skipped: 1 });
    assert.equal(fake.items.get('c-frac-2')?.title, 'Number lines');
  });
});

test('POST /v1/recommend maps topics and every option, and answers per topic in order', async () => {
  await withApp(async (app, _fake, calls) => {
    await app.call('PUT', '/v1/content', { items: CONTENT });
    const topics = [
      { id: 't-frac', title: 'Fractions', description: 'adding fractions', language: 'en', channel_id: 'ch-x', ancestors: [{ id: 'p', title: 'Arithmetic' }, { title: 'Maths' }] },
      { id: 't-photo', title: 'Plants', description: 'photosynthesis', language: 'en' },
    ];
    const options = { margin: 0.3, max_items: 2, max_candidates: 50, languages: ['en', 'es'], channels: ['ch-a', 'ch-b'], override_threshold: false };
    const res = await app.call('POST', '/v1/recommend', { topics, options });
    assert.equal(res.status, 200);
    const call = calls.find((c) => c.method === 'recommend')!;
    assert.deepEqual(call.args[1], { margin: 0.3, maxItems: 2, maxCandidates: 50, languages: ['en', 'es'], channels: ['ch-a', 'ch-b'], overrideThreshold: false });
    assert.deepEqual(call.args[0][0], {
      id: 't-frac', title: 'Fractions', description: 'adding fractions', language: 'en', channelId: 'ch-x',
      ancestors: [{ id: 'p', title: 'Arithmetic', description: undefined }, { id: undefined, title: 'Maths', description: undefined }],
    });
    assert.deepEqual(res.json.topics.map((t: any) => t.topic_id), ['t-frac', 't-photo']);
    const first = res.json.topics[0].recommendations;
    assert.ok(first.length >= 1 && first.length <= 2);
    assert.equal(first[0].id, 'c-frac-1');
    assert.deepEqual(Object.keys(first[0]).sort(), ['channel_id', 'content_id', 'description', 'id', 'kind', 'language', 'rank', 'similarity', 'title']);
    assert.equal(first[0].rank, 1);
    assert.equal(res.json.topics[1].recommendations[0].id, 'c-photo');
  });
});

test('POST /v1/topics registers topics; POST /v1/recommend by topic_ids uses them', async () => {
  await withApp(async (app) => {
    await app.call('PUT', '/v1/content', { items: CONTENT });
    const reg = await app.call('POST', '/v1/topics', { topics: [{ id: 'known-1', title: 'Photosynthesis', language: 'en' }] });
    assert.deepEqual(reg.json, { registered: 1 });
    const res = await app.call('POST', '/v1/recommend', { topic_ids: ['known-1'], options: { override_threshold: true } });
    assert.equal(res.status, 200);
    assert.equal(res.json.topics[0].topic_id, 'known-1');
    assert.equal(res.json.topics[0].recommendations[0].id, 'c-photo');
    assert.equal(res.json.topics[0].recommendations.length, 3, 'override_threshold: every English candidate, uncut');
    assert.equal((await app.call('GET', '/v1/info')).json.known_topics, 1);
  });
});

test('POST /v1/content:delete removes items by id', async () => {
  await withApp(async (app) => {
    await app.call('PUT', '/v1/content', { items: CONTENT });
    const res = await app.call('POST', '/v1/content:delete', { ids: ['c-frac-1', 'no-such-id'] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { deleted: 1 });
    const rec = await app.call('POST', '/v1/recommend', { topics: [{ id: 't', title: 'Adding fractions', language: 'en' }], options: { override_threshold: true } });
    assert.ok(!rec.json.topics[0].recommendations.some((r: any) => r.id === 'c-frac-1'));
    assert.equal((await app.call('GET', '/v1/info')).json.index.total, 3);
  });
});

test('POST /v1/embed returns one unit vector per topic or content', async () => {
  await withApp(async (app) => {
    const topics = await app.call('POST', '/v1/embed', { topics: [{ id: 'a', title: 'Fractions', language: 'en' }, { id: 'b', title: 'Plants', language: 'en' }] });
    assert.equal(topics.status, 200);
    assert.equal(topics.json.kind, 'topic');
    assert.equal(topics.json.dim, 16);
    assert.deepEqual(topics.json.embeddings.map((e: any) => e.id), ['a', 'b']);
    for (const e of topics.json.embeddings) {
      assert.equal(e.vector.length, 16);
      assert.ok(Math.abs(Math.hypot(...e.vector) - 1) < 1e-5);
    }
    const contents = await app.call('POST', '/v1/embed', { contents: [{ id: 'c', title: 'Fractions', text: 'halves', language: 'en' }] });
    assert.equal(contents.json.kind, 'content');
    assert.equal(contents.json.embeddings.length, 1);
  });
});

test('GET /v1/info reports bundle, selection and index sizes in snake_case', async () => {
  await withApp(async (app) => {
    await app.call('PUT', '/v1/content', { items: CONTENT });
    const res = await app.call('GET', '/v1/info');
    assert.equal(res.status, 200);
    assert.equal(res.json.ready, true);
    assert.equal(res.json.bundle.text_format, 'lecr-breadcrumb-v1');
    assert.deepEqual(res.json.selection, { margin: 0.16, max_candidates: 128, min_items: 1 });
    assert.deepEqual(res.json.index.languages, [{ language: 'en', size: 3, kind: 'exact' }, { language: 'es', size: 1, kind: 'exact' }]);
    assert.equal(res.json.index.total, 4);
  });
});

test('operational routes: healthz, readyz, metrics with route labels and index gauges', async () => {
  await withApp(async (app, fake) => {
    assert.deepEqual((await app.call('GET', '/healthz')).json, { status: 'OK' });
    assert.equal((await app.call('GET', '/readyz')).status, 200);
    await app.call('PUT', '/v1/content', { items: CONTENT });
    await app.call('POST', '/v1/content:delete', { ids: ['c-photo'] });
    const metrics = await app.call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type')!, /text\/plain/);
    assert.match(metrics.text, /http_requests_total\{method="PUT",route="\/v1\/content",status="200"\} 1/);
    assert.match(metrics.text, /http_requests_total\{method="POST",route="\/v1\/content:delete",status="200"\} 1/);
    assert.match(metrics.text, /recommender_index_items\{language="en",kind="exact"\} 2/);
    fake.isReady = false;
    assert.equal((await app.call('GET', '/readyz')).status, 503);
  });
});
