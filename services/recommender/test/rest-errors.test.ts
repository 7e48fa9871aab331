// Bad input gets a 4xx JSON error naming the field and changes nothing; server faults get a 500
// without internals; the process keeps serving. Run against the in-memory double: these are checks
// of the API layer (the core's own checks are mapped through InputError and tested the same way).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { FakeRecommender } from './api-support/fake-recommender.js';
import { startApp, type RunningApp } from './api-support/http.js';
import { buildHttpApp, DeferredRecommender } from '../src/app.js';
import { createMetrics } from '../src/metrics.js';
import { pino } from 'pino';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { HttpConfig } from '../src/app.js';
import { TEST_CONFIG } from './api-support/http.js';
import { inWireTerms, wireField, STUDIO_CONTENT_FIELDS } from '../src/api/rest/wire.js';
import { InputError } from '../src/errors.js';

function resource(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(), channel_id: randomUUID(), content_id: randomUUID(), channel_version: 1,
    title: 'Adding fractions', description: 'Add fractions with like denominators', language: 'en',
    ...overrides,
  };
}

function topic(overrides: Record<string, unknown> = {}) {
  return { id: randomUUID(), channel_id: randomUUID(), title: 'Fractions', description: '', language: 'en', ...overrides };
}

/** Starts an app with two items already indexed, runs `fn`, then checks nothing was written. */
async function rejects(
  fn: (app: RunningApp, fake: FakeRecommender) => Promise<{ status: number; json: any }>,
  expected: { status: number; code?: string; field: string | null; message?: RegExp },
  config: Partial<HttpConfig> = {},
) {
  const fake = new FakeRecommender();
  await fake.upsertContent([
    { id: 'seed-1', title: 'Fractions', language: 'en', version: 1 },
    { id: 'seed-2', title: 'Fracciones', language: 'es', version: 1 },
  ]);
  const app = await startApp(fake, config);
  try {
    const before = (await app.call('GET', '/v1/info')).json.index;
    const writesBefore = fake.calls.filter((c) => c.method.startsWith('upsert') || c.method === 'deleteContent').length;
    const { status, json } = await fn(app, fake);
    assert.equal(status, expected.status, JSON.stringify(json));
    assert.ok(json && json.error, 'error body');
    assert.deepEqual(Object.keys(json.error).sort(), ['code', 'field', 'message']);
    if (expected.code) assert.equal(json.error.code, expected.code);
    assert.equal(json.error.field, expected.field);
    if (expected.field) assert.ok(json.error.message.startsWith(`${expected.field}: `), `message names the field: ${json.error.message}`);
    if (expected.message) assert.match(json.error.message, expected.message);
    const after = (await app.call('GET', '/v1/info')).json.index;
    assert.deepEqual(after, before, 'index unchanged');
    assert.deepEqual([...fake.items.keys()].sort(), ['seed-1', 'seed-2']);
    // A rejected request must not even reach a write unless the core itself refused it.
    const writesAfter = fake.calls.filter((c) => c.method.startsWith('upsert') || c.method === 'deleteContent').length;
    return { writes: writesAfter - writesBefore, json };
  } finally {
    await app.close();
  }
}

test('malformed JSON → 400 malformed_json', async () => {
  const r = await rejects((app) => app.call('POST', '/embed-content', '{"resources": [', {}), { status: 400, code: 'malformed_json', field: 'body' });
  assert.equal(r.writes, 0);
});

test('non-JSON body → 415; empty or non-object JSON body → 400', async () => {
  await rejects((app) => app.call('POST', '/embed-content', 'resources=1', { 'content-type': 'application/x-www-form-urlencoded' }), {
    status: 415, code: 'unsupported_media_type', field: 'body',
  });
  // An empty JSON body reads as {} (body-parser), so the first missing field is named.
  await rejects((app) => app.call('POST', '/embed-content', undefined, { 'content-type': 'application/json' }), { status: 400, field: 'resources', message: /required/ });
  await rejects((app) => app.call('POST', '/recommend', [topic()]), { status: 400, field: 'body', message: /must be an object, got an array/ });
});

test('wrong type → 400 naming the field', async () => {
  const r = await rejects((app) => app.call('POST', '/embed-content', { resources: [resource({ channel_version: '3' })] }), {
    status: 400, code: 'invalid_request', field: 'resources[0].channel_version', message: /must be an integer, got a string/,
  });
  assert.equal(r.writes, 0);
  await rejects((app) => app.call('PUT', '/v1/content', { items: [{ id: 'a', title: 'T', language: 'en', version: 1.5 }] }), {
    status: 400, field: 'items[0].version',
  });
  await rejects((app) => app.call('POST', '/v1/recommend', { topic_ids: ['x'], options: { override_threshold: 'yes' } }), {
    status: 400, field: 'options.override_threshold', message: /must be a boolean/,
  });
});

test('missing required field → 400 naming it', async () => {
  const { content_id: _omit, ...withoutContentId } = resource();
  await rejects((app) => app.call('POST', '/embed-content', { resources: [resource(), withoutContentId] }), {
    status: 400, field: 'resources[1].content_id', message: /is required/,
  });
  await rejects((app) => app.call('POST', '/recommend', { metadata: {} }), { status: 400, field: 'topics', message: /is required/ });
  const { language: _l, ...noLanguage } = topic();
  await rejects((app) => app.call('POST', '/recommend', { topics: [noLanguage] }), { status: 400, field: 'topics[0].language' });
});

test('unknown field → 400 naming it (additionalProperties: false)', async () => {
  await rejects((app) => app.call('POST', '/recommend', { topics: [topic({ colour: 'red' })] }), {
    status: 400, field: 'topics[0].colour', message: /not a known field/,
  });
  await rejects((app) => app.call('POST', '/embed-content', { resources: [resource()], extra: 1 }), { status: 400, field: 'extra' });
  await rejects(
    (app) => app.call('POST', '/recommend', { topics: [topic({ ancestors: [{ id: randomUUID(), title: 'A', description: '', level: 0, depth: 1 }] })] }),
    { status: 400, field: 'topics[0].ancestors[0].depth' },
  );
  await rejects((app) => app.call('PUT', '/v1/content', { items: [{ id: 'a', title: 'T', language: 'en', vector: [] }] }), {
    status: 400, field: 'items[0].vector',
  });
});

test('empty or blank titles → 400', async () => {
  await rejects((app) => app.call('POST', '/embed-content', { resources: [resource({ title: '' })] }), {
    status: 400, field: 'resources[0].title', message: /must not be empty/,
  });
  await rejects((app) => app.call('POST', '/recommend', { topics: [topic({ title: '   ' })] }), { status: 400, field: 'topics[0].title' });
  await rejects((app) => app.call('PUT', '/v1/content', { items: [{ id: 'a', title: '\n', language: 'en' }] }), { status: 400, field: 'items[0].title' });
});

test('body larger than MAX_BODY_BYTES → 413', async () => {
  const big = { resources: Array.from({ length: 30 }, () => resource({ description: 'x'.repeat(100) })) };
  const r = await rejects((app) => app.call('POST', '/embed-content', big), {
    status: 413, code: 'payload_too_large', field: 'body', message: /MAX_BODY_BYTES/,
  }, { maxBodyBytes: 2048 });
  assert.equal(r.writes, 0);
});

test('text longer than MAX_TEXT_CHARS → 400', async () => {
  await rejects((app) => app.call('POST', '/embed-content', { resources: [resource({ text: 'y'.repeat(101) })] }), {
    status: 400, field: 'resources[0].text', message: /at most 100 characters \(MAX_TEXT_CHARS\), got 101/,
  }, { maxTextChars: 100 });
  await rejects((app) => app.call('POST', '/v1/recommend', { topics: [{ id: 't', title: 'T', language: 'en', ancestors: [{ title: 'z'.repeat(101) }] }] }), {
    status: 400, field: 'topics[0].ancestors[0].title',
  }, { maxTextChars: 100 });
});

test('more topics than MAX_TOPICS_PER_REQUEST → 400', async () => {
  await rejects((app) => app.call('POST', '/recommend', { topics: [topic(), topic(), topic(), topic()] }), {
    status: 400, field: 'topics', message: /at most 3 entries \(MAX_TOPICS_PER_REQUEST\), got 4/,
  }, { maxTopicsPerRequest: 3 });
  await rejects((app) => app.call('PUT', '/v1/content', { items: Array.from({ length: 4 }, (_, i) => ({ id: `c${i}`, title: 'T', language: 'en' })) }), {
    status: 400, field: 'items',
  }, { maxTopicsPerRequest: 3 });
});

test('malformed and unknown languages → 400 naming the field, the batch is not written', async () => {
  await rejects((app) => app.call('POST', '/recommend', { topics: [topic({ language: 'English' })] }), {
    status: 400, field: 'topics[0].language', message: /language code/,
  });
  // Well-formed but unknown to the core (no content, not a bundle language): its InputError is mapped.
  await rejects((app) => app.call('POST', '/recommend', { topics: [topic(), topic({ language: 'xx' })] }), {
    status: 400, field: 'topics[1].language', message: /no content in language "xx"/,
  });
  await rejects((app) => app.call('POST', '/v1/recommend', { topics: [{ id: 't', title: 'T', language: 'zz' }] }), {
    status: 400, field: 'topics[0].language',
  });
});

test('a resource without language needs metadata.language', async () => {
  const { language: _l, ...noLanguage } = resource();
  await rejects((app) => app.call('POST', '/embed-content', { resources: [noLanguage] }), {
    status: 400, field: 'resources[0].language', message: /metadata\.language/,
  });
  const fake = new FakeRecommender();
  const app = await startApp(fake);
  try {
    const ok = await app.call('POST', '/embed-content', { resources: [noLanguage], metadata: { language: 'es', channel_id: randomUUID() } });
    assert.equal(ok.status, 200);
    assert.equal(fake.items.get(noLanguage.id)?.language, 'es');
  } finally {
    await app.close();
  }
});

test('invalid UUIDs → 400 naming the field', async () => {
  await rejects((app) => app.call('POST', '/recommend', { topics: [topic({ id: 'not-a-uuid' })] }), {
    status: 400, field: 'topics[0].id', message: /UUID/,
  });
  await rejects((app) => app.call('POST', '/embed-content', { resources: [resource({ channel_id: randomUUID().toUpperCase() })] }), {
    status: 400, field: 'resources[0].channel_id',
  });
  await rejects((app) => app.call('POST', '/embed-content', { resources: [resource({ content_id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' })] }), {
    status: 400, field: 'resources[0].content_id', message: /version-4/,
  });
});

test('duplicate ids in one write → 400, nothing written', async () => {
  const r = resource();
  const res = await rejects((app) => app.call('POST', '/embed-content', { resources: [r, { ...r, title: 'Other' }] }), {
    status: 400, field: 'resources[1]', message: /duplicate id/,
  });
  assert.equal(res.writes, 0);
});

test('override_threshold must be true or false', async () => {
  await rejects((app) => app.call('POST', '/recommend?override_threshold=maybe', { topics: [topic()] }), {
    status: 400, field: 'override_threshold',
  });
});

test('exactly one of topics / topic_ids, topics / contents', async () => {
  await rejects((app) => app.call('POST', '/v1/recommend', { options: {} }), { status: 400, field: 'topics', message: /exactly one/ });
  await rejects((app) => app.call('POST', '/v1/embed', { topics: [{ id: 't', title: 'T', language: 'en' }], contents: [{ id: 'c', title: 'C', language: 'en' }] }), {
    status: 400, field: 'topics', message: /not both/,
  });
});

test('an InputError from the core keeps its status (unknown topic id → 404)', async () => {
  await rejects((app) => app.call('POST', '/v1/recommend', { topic_ids: ['never-registered'] }), {
    status: 404, code: 'not_found', field: 'topic_ids[0]', message: /unknown topic/,
  });
});

test('core field names are reported in the caller\'s terms', async () => {
  assert.equal(wireField('topicIds[3]'), 'topic_ids[3]');
  assert.equal(wireField('options.maxCandidates'), 'options.max_candidates');
  assert.equal(wireField('items[2].version', STUDIO_CONTENT_FIELDS), 'resources[2].channel_version');
  assert.equal(wireField('items[0].channelId', STUDIO_CONTENT_FIELDS), 'resources[0].channel_id');
  await assert.rejects(
    inWireTerms(async () => {
      throw new InputError('items[1].contentId', 'must be a string', 422);
    }, STUDIO_CONTENT_FIELDS),
    (err: unknown) => err instanceof InputError && err.field === 'resources[1].content_id' && err.message === 'resources[1].content_id: must be a string' && err.status === 422,
  );
});

test('an unexpected error → 500 without internals, and the service keeps serving', async () => {
  const fake = new FakeRecommender();
  const app = await startApp(fake);
  try {
    const secret = new Error('ENOENT /very/secret/path/model.onnx');
    fake.failNext = secret;
    const res = await app.call('POST', '/v1/recommend', { topics: [{ id: 't', title: 'Fractions', language: 'en' }] });
    assert.equal(res.status, 500);
    assert.equal(res.json.error.code, 'internal');
    assert.equal(res.json.error.field, null);
    assert.ok(!res.text.includes('secret') && !res.text.includes('at '), `no internals leak: ${res.text}`);
    assert.ok(res.json.error.message.includes(res.headers.get('x-request-id')!), 'the message carries the request id for the log');
    const again = await app.call('POST', '/v1/recommend', { topics: [{ id: 't', title: 'Fractions', language: 'en' }] });
    assert.equal(again.status, 200);
    const metrics = await app.call('GET', '/metrics');
    assert.match(metrics.text, /http_requests_total\{method="POST",route="\/v1\/recommend",status="500"\} 1/);
  } finally {
    await app.close();
  }
});

test('unknown routes → 404 JSON', async () => {
  const app = await startApp(new FakeRecommender());
  try {
    const res = await app.call('GET', '/v2/recommend');
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, 'not_found');
    assert.match(res.json.error.message, /GET \/v2\/recommend/);
  } finally {
    await app.close();
  }
});

test('before the recommender is attached: alive, not ready, operations → 503', async () => {
  const deferred = new DeferredRecommender();
  const app = await startApp(deferred);
  try {
    assert.equal((await app.call('GET', '/healthz')).status, 200);
    assert.equal((await app.call('GET', '/readyz')).status, 503);
    const res = await app.call('POST', '/recommend', { topics: [topic()] });
    assert.equal(res.status, 503);
    assert.equal(res.json.error.code, 'not_ready');
    assert.equal(res.headers.get('retry-after'), '1');
    const fake = new FakeRecommender();
    deferred.attach(fake);
    assert.equal((await app.call('GET', '/readyz')).status, 200);
    assert.equal((await app.call('POST', '/recommend', { topics: [topic()] })).status, 200);
    deferred.startDraining();
    assert.equal((await app.call('GET', '/readyz')).status, 503, 'draining: not ready');
    assert.equal((await app.call('POST', '/recommend', { topics: [topic()] })).status, 200, 'draining: still serving');
  } finally {
    await app.close();
  }
});

test('every route of the app is in the OpenAPI document, and every documented route exists', async () => {
  const app = buildHttpApp({ config: TEST_CONFIG, recommender: new FakeRecommender(), metrics: createMetrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }) });
  const routes = (app as any).router.stack
    .filter((layer: any) => layer.route)
    .flatMap((layer: any) => Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${String(layer.route.path).replace(/\\/g, '')}`));
  const running = await startApp(new FakeRecommender());
  try {
    const doc = (await running.call('GET', '/openapi.json')).json;
    assert.equal(doc.openapi, '3.1.0');
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    assert.ok(routes.length >= 13, routes.join(', '));
    assert.deepEqual([...routes].sort(), [...documented].sort());
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const r of refs) {
      const name = r.split('/').pop()!.replace(/"$/, '');
      assert.ok(doc.components.schemas[name], `unresolved ${r}`);
    }
    // The configured limits are shown.
    assert.equal(doc.components.schemas.StudioEmbedTopicsRequest.properties.topics.maxItems, TEST_CONFIG.maxTopicsPerRequest);
    // The documented request schemas are valid JSON Schema 2020-12 (OpenAPI 3.1's dialect) and
    // accept / refuse what the service accepts / refuses.
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'https://openapi.local/doc', components: doc.components });
    const check = (name: string, body: unknown) => ajv.validate({ $ref: `https://openapi.local/doc#/components/schemas/${name}` }, body);
    const studioTopic = { id: randomUUID(), channel_id: randomUUID(), title: 'Fractions', description: '', language: 'en', ancestors: [{ id: randomUUID(), title: 'Maths', description: '', level: 0 }] };
    assert.equal(check('StudioEmbedTopicsRequest', { topics: [studioTopic] }), true, JSON.stringify(ajv.errors));
    assert.equal(check('StudioEmbedTopicsRequest', { topics: [{ ...studioTopic, id: 'x' }] }), false);
    assert.equal(check('StudioEmbedContentRequest', { resources: [resource()] }), true, JSON.stringify(ajv.errors));
    assert.equal(check('V1RecommendRequest', { topic_ids: ['a'], options: { margin: 0.2 } }), true, JSON.stringify(ajv.errors));
    assert.equal(check('V1RecommendRequest', { topic_ids: ['a'], options: { margin: 1 } }), false);
    assert.equal(check('V1UpsertContentRequest', { items: [{ id: 'a', title: 'T', language: 'en', extra: 1 }] }), false);
  } finally {
    await running.close();
  }
});
