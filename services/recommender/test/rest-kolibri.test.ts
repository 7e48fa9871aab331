// The Kolibri Studio contract (reference/kolibri-studio-api.md) end to end: Studio-shaped bodies over
// real HTTP into the real core on the tiny bundle, checking the exact response shapes, the
// override_threshold semantics, channel_version upserts and the ancestor order conversion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRecommender } from '../src/recommender.js';
import { tinyBundle } from './core-fixtures.js';
import { recording, type Recorded } from './api-support/recording.js';
import { startApp, type RunningApp } from './api-support/http.js';
import type { RecommenderService } from '../src/types.js';

let core: RecommenderService & { flush?: () => Promise<unknown> };
let margin: number;
before(async () => {
  core = await createRecommender({ bundlePaths: [tinyBundle()] });
  margin = core.info().selection.margin;
});
after(async () => {
  await core.close();
});

const CHANNEL = randomUUID();
const OTHER_CHANNEL = randomUUID();

function resource(title: string, extra: Record<string, unknown> = {}) {
  return {
    id: randomUUID(), channel_id: CHANNEL, content_id: randomUUID(), channel_version: 3,
    title, description: `About ${title.toLowerCase()}`, language: 'en',
    files: [{ url: 'https://storage.cloud.google.com/x/file.mp4', preset: 'high_res_video' }],
    ...extra,
  };
}

function studioTopic(title: string, extra: Record<string, unknown> = {}) {
  return { id: randomUUID(), channel_id: randomUUID(), title, description: `Learn ${title.toLowerCase()}`, language: 'en', ...extra };
}

/** A fresh app over the shared core (emptied first), recording what the API passes to the core. */
async function withStudio(fn: (app: RunningApp, calls: Recorded[]) => Promise<void>) {
  const ids = new Set<string>();
  const { service, calls } = recording(core);
  const app = await startApp(service);
  try {
    await fn(app, calls);
  } finally {
    await app.close();
    for (const c of calls) if (c.method === 'upsertContent') for (const item of c.args[0]) ids.add(item.id);
    await core.deleteContent([...ids]);
  }
}

test('GET /connect answers 200 {"status":"OK"}', async () => {
  await withStudio(async (app) => {
    const res = await app.call('GET', '/connect');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'OK' });
  });
});

test('POST /embed-content then POST /recommend: exact response shape, ranks, margin cut vs override_threshold', async () => {
  await withStudio(async (app, calls) => {
    const english = [resource('Adding fractions'), resource('Subtracting fractions'), resource('Photosynthesis'), resource('Angles in a triangle', { channel_id: OTHER_CHANNEL })];
    const spanish = resource('Sumar fracciones', { language: 'es' });
    const put = await app.call('POST', '/embed-content', { resources: [...english, spanish], metadata: { channel_id: CHANNEL } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.json, { status: 'OK', inserted: 5, updated: 0, skipped: 0 });
    const stored = calls.find((c) => c.method === 'upsertContent')!.args[0][0];
    assert.deepEqual(
      { version: stored.version, channelId: stored.channelId, contentId: stored.contentId, kind: stored.kind },
      { version: 3, channelId: CHANNEL, contentId: english[0].content_id, kind: 'video' },
      'channel_version → version, files → kind',
    );

    const topic = studioTopic('Fractions');
    const cut = await app.call('POST', '/recommend?override_threshold=false', { topics: [topic], metadata: { channel_id: topic.channel_id } });
    const all = await app.call('POST', '/recommend?override_threshold=true', { topics: [topic] });
    for (const res of [cut, all]) {
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.json), ['topics']);
      assert.equal(res.json.topics.length, 1);
      assert.deepEqual(Object.keys(res.json.topics[0]).sort(), ['id', 'recommendations']);
      assert.equal(res.json.topics[0].id, topic.id);
      const recs = res.json.topics[0].recommendations;
      recs.forEach((r: any, i: number) => {
        assert.deepEqual(Object.keys(r).sort(), ['channel_id', 'description', 'id', 'rank', 'similarity', 'title']);
        assert.equal(r.rank, i + 1);
        assert.equal(typeof r.similarity, 'number');
        if (i > 0) assert.ok(r.similarity <= recs[i - 1].similarity, 'best first');
        const source = english.find((e) => e.id === r.id);
        assert.ok(source, `recommendation ${r.id} is an English resource id`);
        assert.equal(r.channel_id, source.channel_id);
        assert.equal(r.title, source.title);
        assert.equal(r.description, source.description);
      });
    }
    const kept = cut.json.topics[0].recommendations;
    const ranked = all.json.topics[0].recommendations;
    assert.equal(ranked.length, english.length, 'override_threshold=true: every candidate, uncut');
    assert.ok(kept.length >= 1 && kept.length <= ranked.length);
    assert.deepEqual(kept.map((r: any) => r.id), ranked.slice(0, kept.length).map((r: any) => r.id), 'the cut is a prefix of the ranking');
    const threshold = (1 - margin) * ranked[0].similarity;
    for (const r of ranked) assert.equal(kept.some((k: any) => k.id === r.id), r.similarity >= threshold || r.rank === 1, `margin rule for ${r.title}`);
    // Without the parameter Studio gets the cut list; Python's requests spells booleans True/False.
    assert.deepEqual((await app.call('POST', '/recommend', { topics: [topic] })).json, cut.json);
    assert.deepEqual((await app.call('POST', '/recommend?override_threshold=True', { topics: [topic] })).json, all.json);
  });
});

test('a newer channel_version replaces a resource, an older one is skipped', async () => {
  await withStudio(async (app) => {
    const r = resource('Fractions basics');
    assert.deepEqual((await app.call('POST', '/embed-content', { resources: [r] })).json, { status: 'OK', inserted: 1, updated: 0, skipped: 0 });
    const older = await app.call('POST', '/embed-content', { resources: [{ ...r, channel_version: 2, title: 'Old title' }] });
    assert.deepEqual(older.json, { status: 'OK', inserted: 0, updated: 0, skipped: 1 });
    const newer = await app.call('POST', '/embed-content', { resources: [{ ...r, channel_version: 4, title: 'Fractions, revised' }] });
    assert.deepEqual(newer.json, { status: 'OK', inserted: 0, updated: 1, skipped: 0 });
    const rec = await app.call('POST', '/recommend?override_threshold=true', { topics: [studioTopic('Fractions')] });
    assert.deepEqual(rec.json.topics[0].recommendations.map((x: any) => [x.id, x.title]), [[r.id, 'Fractions, revised']]);
    const info = (await app.call('GET', '/v1/info')).json;
    assert.deepEqual(info.index.languages.map((l: any) => [l.language, l.size]), [['en', 1]]);
  });
});

test('ancestors (root level 0 … parent highest) reach the core parent first, as the /v1 breadcrumb', async () => {
  await withStudio(async (app, calls) => {
    await app.call('POST', '/embed-content', { resources: [resource('Adding fractions'), resource('Photosynthesis'), resource('Angles')] });
    const root = { id: randomUUID(), title: 'Mathematics', description: 'The channel', level: 0 };
    const mid = { id: randomUUID(), title: 'Number', description: '', level: 1 };
    const parent = { id: randomUUID(), title: 'Fractions', description: 'Parts of a whole', level: 2, language: 'en' };
    const topic = studioTopic('Adding fractions', { ancestors: [mid, parent, root] });
    const studio = await app.call('POST', '/recommend?override_threshold=true', { topics: [topic] });
    const sent = calls.filter((c) => c.method === 'recommend').pop()!.args[0][0];
    assert.deepEqual(sent.ancestors.map((a: any) => a.title), ['Fractions', 'Number', 'Mathematics']);
    assert.equal(sent.channelId, topic.channel_id);
    // The same topic through /v1 with the breadcrumb written parent first gives the same similarities.
    const v1 = await app.call('POST', '/v1/recommend', {
      topics: [{ id: 'same', title: topic.title, description: topic.description, language: 'en', ancestors: [parent, mid, root].map(({ id, title, description }) => ({ id, title, description })) }],
      options: { override_threshold: true },
    });
    const sims = (list: any[]) => list.map((r) => [r.id, r.similarity.toFixed(5)]);
    assert.deepEqual(sims(studio.json.topics[0].recommendations), sims(v1.json.topics[0].recommendations));
    // And the order matters: reversed ancestors would be a different text, so a different vector.
    const reversed = await app.call('POST', '/v1/recommend', {
      topics: [{ id: 'rev', title: topic.title, description: topic.description, language: 'en', ancestors: [root, mid, parent].map(({ title }) => ({ title })) }],
      options: { override_threshold: true },
    });
    assert.notDeepEqual(sims(reversed.json.topics[0].recommendations), sims(studio.json.topics[0].recommendations));
  });
});

test('several topics answer in request order; an unknown language is refused naming the field, nothing written', async () => {
  await withStudio(async (app) => {
    await app.call('POST', '/embed-content', { resources: [resource('Fractions'), resource('Fracciones', { language: 'es' })] });
    const topics = [studioTopic('Fractions'), studioTopic('Fracciones', { language: 'es' }), studioTopic('Algebra')];
    const res = await app.call('POST', '/recommend', { topics });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.topics.map((t: any) => t.id), topics.map((t) => t.id));
    assert.ok(res.json.topics.every((t: any) => t.recommendations.length >= 1));
    const before = (await app.call('GET', '/v1/info')).json.index;
    const bad = await app.call('POST', '/recommend', { topics: [topics[0], studioTopic('Brøk', { language: 'nb' })] });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.field, 'topics[1].language');
    assert.match(bad.json.error.message, /^topics\[1\]\.language: no content in language "nb"/);
    const badWrite = await app.call('POST', '/embed-content', { resources: [resource('Fine'), resource('Bad', { id: 'not-a-uuid' })] });
    assert.equal(badWrite.status, 400);
    assert.equal(badWrite.json.error.field, 'resources[1].id');
    assert.deepEqual((await app.call('GET', '/v1/info')).json.index, before, 'nothing written');
  });
});
