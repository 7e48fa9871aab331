import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRecommender, type Recommender } from '../src/recommender.js';
import { InputError } from '../src/errors.js';
import { loadBundle, readGolden } from '../src/bundle/index.js';
import type { ContentItem, StageObserver } from '../src/types.js';
import { copyBundle, cosine, tinyBundle, tmpDir } from './core-fixtures.js';

const open: Recommender[] = [];
after(async () => {
  for (const r of open) await r.close();
});
async function make(opts: Partial<Parameters<typeof createRecommender>[0]> = {}): Promise<Recommender> {
  const r = await createRecommender({ bundlePaths: [tinyBundle()], ...opts });
  open.push(r);
  return r;
}
const subjects = ['fractions', 'decimals', 'equations', 'geometry', 'probability', 'statistics', 'algebra', 'calculus'];
const kinds = ['video', 'exercise', 'document'];
const content: ContentItem[] = subjects.flatMap((s, i) =>
  kinds.map((k, j) => ({
    id: `en-${i}-${j}`,
    title: `${s} ${k}`,
    description: `A ${k} about ${s}`,
    text: `Learn ${s} step by step with worked examples.`,
    language: 'en',
    channelId: j === 0 ? 'videos' : 'other',
    kind: k,
    version: 1,
  })),
);
const french: ContentItem[] = subjects.map((s, i) => ({ id: `fr-${i}`, title: `les ${s}`, language: 'fr', channelId: 'fr-channel' }));
const topic = { id: 't1', title: 'Adding fractions', description: 'Like denominators', language: 'en', ancestors: [{ title: 'Fractions' }, { title: 'Mathematics' }] };
const isInputError = (field: string, status = 400) => (e: unknown) => e instanceof InputError && e.field === field && e.status === status;

// One recommender for the tests that do not change its content (opening one costs an ONNX session).
let shared: Recommender | undefined;
async function sharedRecommender(): Promise<Recommender> {
  if (!shared) {
    shared = await make();
    assert.deepEqual(await shared.upsertContent([...content, ...french]), { inserted: 32, updated: 0, skipped: 0 });
  }
  return shared;
}

test('recommend: candidates of the topic language, ranked, margin cut, options', async () => {
  const rec = await sharedRecommender();
  const [res] = await rec.recommend([topic]);
  assert.equal(res.topicId, 't1');
  const items = res.recommendations;
  assert.ok(items.length >= 1);
  assert.ok(items.every((r) => r.language === 'en'));
  assert.deepEqual(items.map((r) => r.rank), items.map((_, i) => i + 1));
  for (let i = 1; i < items.length; i++) assert.ok(items[i - 1].similarity >= items[i].similarity);
  const s1 = items[0].similarity;
  assert.ok(items.every((r) => r.similarity >= (1 - rec.selection.margin) * s1 - 1e-7));
  // the same cut recomputed from the ranked list without the threshold
  const [all] = await rec.recommend([topic], { overrideThreshold: true });
  assert.equal(all.recommendations.length, content.length); // fewer items than max_candidates: all of them
  const expectedCut = all.recommendations.filter((r) => r.similarity >= (1 - rec.selection.margin) * s1).length;
  assert.equal(items.length, Math.max(1, expectedCut));
  assert.deepEqual(all.recommendations.slice(0, items.length).map((r) => r.id), items.map((r) => r.id));
  const [wide] = await rec.recommend([topic], { margin: 0.9 });
  assert.ok(wide.recommendations.length >= items.length);
  const [capped] = await rec.recommend([topic], { overrideThreshold: true, maxItems: 3 });
  assert.equal(capped.recommendations.length, 3);
  const [few] = await rec.recommend([topic], { overrideThreshold: true, maxCandidates: 5 });
  assert.equal(few.recommendations.length, 5);
  const [videos] = await rec.recommend([topic], { channels: ['videos'], overrideThreshold: true });
  assert.equal(videos.recommendations.length, subjects.length);
  assert.ok(videos.recommendations.every((r) => r.channelId === 'videos' && r.kind === 'video'));
  const [noFilter] = await rec.recommend([topic], { channels: [], languages: [], overrideThreshold: true });
  assert.deepEqual(noFilter, all); // empty lists mean "not given"
  const [both] = await rec.recommend([topic], { languages: ['en', 'fr'], overrideThreshold: true });
  assert.equal(both.recommendations.length, content.length + french.length);
  assert.ok(both.recommendations.some((r) => r.language === 'fr'));
});

test('validation names the field; nothing is written on a bad item', async () => {
  const rec = await sharedRecommender();
  await assert.rejects(rec.recommend([{ ...topic, language: 'xx' }]), isInputError('topics[0].language'));
  await assert.rejects(rec.recommend([topic, { ...topic }]), isInputError('topics[1]'));
  await assert.rejects(rec.recommend([{ ...topic, title: 'x'.repeat(20001) }]), isInputError('topics[0].title', 413));
  await assert.rejects(rec.recommend([topic], { margin: 1.5 }), isInputError('options.margin'));
  await assert.rejects(rec.recommend([topic], { languages: ['zz'] }), isInputError('options.languages[0]'));
  const before = rec.info().index.total;
  const fresh = { id: 'fresh', title: 'new item', language: 'en' };
  await assert.rejects(rec.upsertContent([fresh, { ...content[6], version: -1 }]), isInputError('items[1].version'));
  await assert.rejects(rec.upsertContent([fresh, { ...fresh }]), isInputError('items[1]'));
  await assert.rejects(rec.upsertContent([fresh, { id: 'no-lang', title: 'x' } as ContentItem]), isInputError('items[1].language'));
  assert.equal(rec.info().index.total, before);
  assert.equal(rec.index.get('fresh'), undefined);
});

test('versions, deletes and an id moving language through the service', async () => {
  const rec = await make();
  await rec.upsertContent(content);
  assert.deepEqual(await rec.upsertContent([content[0], { ...content[1], version: 2, title: 'renamed' }]), { inserted: 0, updated: 1, skipped: 1 });
  assert.equal(rec.index.get(content[1].id)!.title, 'renamed');
  assert.deepEqual(await rec.deleteContent([content[2].id, 'nope']), { deleted: 1 });
  await rec.upsertContent([{ ...content[3], language: 'fr', version: 5 }]);
  const [res] = await rec.recommend([topic], { overrideThreshold: true });
  assert.ok(!res.recommendations.some((r) => r.id === content[2].id || r.id === content[3].id));
  assert.deepEqual(rec.info().index.languages.map((l) => [l.language, l.size]), [['en', content.length - 2], ['fr', 1]]);
});

test('texts are built by Contract 2: embeddings of golden inputs equal the golden vectors', async () => {
  const rec = await sharedRecommender();
  const b = await loadBundle(tinyBundle());
  for (const g of readGolden(b)) {
    const input = g.input;
    const [v] =
      g.kind === 'topic'
        ? await rec.embedTopics([{ id: 'g', title: input.title ?? '', description: input.description, language: 'en', ancestors: (input.ancestors ?? []).map((title) => ({ title })) }])
        : await rec.embedContent([{ id: 'g', title: input.title ?? '', description: input.description, text: input.text, language: 'en' }]);
    assert.ok(cosine(v, g.embeddings[b.variant]) >= 0.999, `${g.kind}: ${g.text.slice(0, 50)}`);
  }
});

test('recommendKnown: topics from a CSV, breadcrumb from the known tree', async () => {
  const dir = tmpDir();
  const csv = path.join(dir, 'topics.csv');
  fs.writeFileSync(csv, 'id,title,description,language,parent\nroot,Mathematics,,en,\nfr1,Fractions,"Parts, of a whole",en,root\nt1,Adding fractions,Like denominators,en,fr1\n');
  const observed: string[] = [];
  const observer: StageObserver = { stage: (n) => void observed.push(n), batch: () => undefined };
  const rec = await make({ topicsCsv: csv, observer });
  await rec.upsertContent(content);
  assert.equal(rec.info().knownTopics, 3);
  const [known] = await rec.recommendKnown(['t1'], { overrideThreshold: true });
  const [explicit] = await rec.recommend([{ id: 't1', title: 'Adding fractions', description: 'Like denominators', language: 'en', ancestors: [{ title: 'Fractions' }, { title: 'Mathematics' }] }], { overrideThreshold: true });
  assert.deepEqual(known, explicit);
  await assert.rejects(rec.recommendKnown(['missing']), isInputError('topicIds[0]', 404));
  assert.equal(await rec.upsertTopics([{ id: 't2', title: 'Subtracting fractions', language: 'en', ancestors: [{ id: 'fr1', title: 'ignored: the known parent wins' }] }]), 1);
  const [viaParent] = await rec.recommendKnown(['t2'], { overrideThreshold: true });
  const [direct] = await rec.recommend([{ id: 't2', title: 'Subtracting fractions', language: 'en', ancestors: [{ title: 'Fractions' }, { title: 'Mathematics' }] }], { overrideThreshold: true });
  assert.deepEqual(viaParent, direct);
  for (const stage of ['tokenize', 'queue', 'inference', 'search', 'select']) assert.ok(observed.includes(stage), stage);
});

test('close flushes the snapshot; a restart serves the same answers', async () => {
  const dir = path.join(tmpDir(), 'index');
  const rec = await createRecommender({ bundlePaths: [tinyBundle()], indexPath: dir });
  await rec.upsertContent([...content, ...french]);
  const [before] = await rec.recommend([topic]);
  await rec.close();
  assert.ok(fs.existsSync(path.join(dir, 'CURRENT')));
  const again = await make({ indexPath: dir });
  assert.equal(again.info().index.snapshotVersion, 1);
  assert.equal(again.info().index.total, 32);
  assert.deepEqual((await again.recommend([topic]))[0], before);
  // nothing changed: closing does not write a new snapshot
  assert.equal(await again.flush(), null);
});

test('an ensemble scores by the mean cosine of its bundles', async () => {
  const second = copyBundle(tinyBundle());
  const m = JSON.parse(fs.readFileSync(path.join(second, 'manifest.json'), 'utf8'));
  m.default_variant = 'full';
  m.name = 'tiny-full';
  fs.writeFileSync(path.join(second, 'manifest.json'), JSON.stringify(m));
  const ens = await createRecommender({ bundlePaths: [tinyBundle(), second] });
  open.push(ens);
  await ens.upsertContent(content);
  const [res] = await ens.recommend([topic], { overrideThreshold: true });
  const single = await Promise.all(ens.encoders.map(async (e) => ({ t: (await e.embed(['Adding fractions # Fractions # Mathematics # Like denominators'], 'topic'))[0], e })));
  for (const r of res.recommendations.slice(0, 5)) {
    const c = content.find((x) => x.id === r.id)!;
    let mean = 0;
    for (const { t, e } of single) mean += cosine(t, (await e.embed([`${c.title} # ${c.description} # ${c.text}`], 'content'))[0]) / 2;
    assert.ok(Math.abs(mean - r.similarity) < 1e-5, `${r.id}: ${mean} vs ${r.similarity}`);
  }
  const [v] = await ens.embedTopics([topic]);
  assert.equal(v.length, ens.bundles[0].manifest.dim * 2);
  assert.ok(Math.abs(cosine(v, v) - 1) < 1e-6);
  assert.equal(ens.info().bundle.name, 'tiny+tiny-full');
});
