import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactError, InputError } from '../src/errors.js';
import { ContentIndex, readSnapshot, writeSnapshot, currentSnapshotDir, type SpaceIdentity, type ItemMeta } from '../src/index/index.js';

const DIM = 16;
const ID: SpaceIdentity = { name: 'test', version: '1', variant: 'full', sha256: 'a'.repeat(64), dim: DIM, textFormat: 'lecr-breadcrumb-v1' };

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}
function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  return v.map((x) => x / Math.sqrt(n));
}
/** Unit vectors around `clusters` random centres: the shape of real embedding clouds (topics cluster). */
function clustered(n: number, dim: number, clusters: number, seed = 1): Float32Array[] {
  const r = rng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, () => r() * 2 - 1));
  return Array.from({ length: n }, (_, i) => normalise(centres[i % clusters].map((c) => c + (r() * 2 - 1) * 0.35)));
}
const item = (id: string, extra: Partial<ItemMeta> = {}): ItemMeta => ({ id, language: 'en', title: `t-${id}`, ...extra });
const tmpdir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'index-test-'));

test('upsert: insert, newer version replaces, same/older skipped, unversioned replaces', () => {
  const idx = new ContentIndex([ID]);
  const [a, b, c] = clustered(3, DIM, 3);
  assert.deepEqual(idx.upsert([{ meta: item('x', { version: 2 }), vectors: [a] }]), { inserted: 1, updated: 0, skipped: 0 });
  assert.deepEqual(idx.upsert([{ meta: item('x', { version: 2, title: 'same' }), vectors: [b] }]), { inserted: 0, updated: 0, skipped: 1 });
  assert.deepEqual(idx.upsert([{ meta: item('x', { version: 1 }), vectors: [b] }]), { inserted: 0, updated: 0, skipped: 1 });
  assert.equal(idx.get('x')!.title, 't-x');
  assert.deepEqual(idx.upsert([{ meta: item('x', { version: 3, title: 'new' }), vectors: [c] }]), { inserted: 0, updated: 1, skipped: 0 });
  assert.equal(idx.get('x')!.title, 'new');
  assert.deepEqual(Array.from(idx.vectors('x')![0]), Array.from(c));
  assert.deepEqual(idx.upsert([{ meta: item('x', { title: 'unversioned' }), vectors: [a] }]), { inserted: 0, updated: 1, skipped: 0 });
  assert.equal(idx.size, 1);
  assert.equal(idx.search('en', [a], 5).length, 1);
});

test('an id moving language moves partition', () => {
  const idx = new ContentIndex([ID]);
  const [a] = clustered(1, DIM, 1);
  idx.upsert([{ meta: item('x'), vectors: [a] }]);
  idx.upsert([{ meta: item('x', { language: 'fr' }), vectors: [a] }]);
  assert.equal(idx.search('en', [a], 5).length, 0);
  assert.equal(idx.search('fr', [a], 5)[0].item.id, 'x');
  assert.deepEqual(idx.languages().map((l) => l.language), ['fr']);
});

test('writes are validated before anything changes', () => {
  const idx = new ContentIndex([ID]);
  const [a, b] = clustered(2, DIM, 2);
  const before = idx.generation;
  assert.throws(() => idx.upsert([{ meta: item('ok'), vectors: [a] }, { meta: item('bad'), vectors: [new Float32Array(DIM - 1)] }]),
    (e: unknown) => e instanceof InputError && e.field === 'items[1].vectors[0]');
  assert.throws(() => idx.upsert([{ meta: item('d'), vectors: [a] }, { meta: item('d'), vectors: [b] }]),
    (e: unknown) => e instanceof InputError && /duplicate/.test(e.message));
  assert.throws(() => idx.upsert([{ meta: item('n'), vectors: [a.map((x) => x * 2)] }]), /L2-normalised/);
  assert.equal(idx.size, 0);
  assert.equal(idx.generation, before);
});

test('delete removes items; unknown ids are not counted', () => {
  const idx = new ContentIndex([ID]);
  const vs = clustered(10, DIM, 2);
  idx.upsert(vs.map((v, i) => ({ meta: item(`c${i}`), vectors: [v] })));
  assert.equal(idx.delete(['c1', 'c2', 'nope']), 2);
  assert.equal(idx.size, 8);
  assert.ok(idx.search('en', [vs[1]], 10).every((h) => h.item.id !== 'c1' && h.item.id !== 'c2'));
});

test('a language switches to HNSW when it grows; HNSW recall@10 >= 0.99 against exact search', () => {
  const idx = new ContentIndex([ID], { exactBelow: 500, hnswEfSearch: 64 });
  const vs = clustered(3000, DIM, 40, 7);
  idx.upsert(vs.slice(0, 400).map((v, i) => ({ meta: item(`c${i}`), vectors: [v] })));
  assert.equal(idx.languages()[0].kind, 'exact');
  idx.upsert(vs.slice(400).map((v, i) => ({ meta: item(`c${i + 400}`), vectors: [v] })));
  assert.equal(idx.languages()[0].kind, 'hnsw');
  const queries = clustered(200, DIM, 40, 99);
  let found = 0;
  for (const q of queries) {
    const exact = new Set(idx.searchExact('en', [q], 10).map((h) => h.item.id));
    for (const h of idx.search('en', [q], 10)) if (exact.has(h.item.id)) found++;
  }
  assert.ok(found / (queries.length * 10) >= 0.99, `recall ${found / (queries.length * 10)}`);
});

test('channel filter: over-fetch then filter, exact fallback when too few survive', () => {
  const idx = new ContentIndex([ID], { exactBelow: 100, filterOverfetch: 2 });
  const vs = clustered(1000, DIM, 10, 3);
  // channel "rare" holds 5 items of one cluster; the query sits in another cluster, so the graph's
  // over-fetched neighbourhood contains none of them and only the exact fallback finds them
  idx.upsert(vs.map((v, i) => ({ meta: item(`c${i}`, { channelId: i % 10 === 3 && i < 50 ? 'rare' : 'main' }), vectors: [v] })));
  assert.equal(idx.languages()[0].kind, 'hnsw');
  const q = vs[0];
  const rare = idx.search('en', [q], 10, { channels: new Set(['rare']) });
  assert.deepEqual(rare.map((h) => h.item.id).sort(), ['c13', 'c23', 'c3', 'c33', 'c43']);
  const main = idx.search('en', [q], 10, { channels: new Set(['main']) });
  assert.equal(main.length, 10);
  assert.ok(main.every((h) => h.item.channelId === 'main'));
  assert.deepEqual(idx.search('en', [q], 10, { channels: new Set(['none']) }), []);
});

test('compaction after many deletes keeps search results identical', () => {
  const idx = new ContentIndex([ID], { exactBelow: 200, compactMinDead: 10, compactDeadFraction: 0.25 });
  const vs = clustered(600, DIM, 12, 5);
  idx.upsert(vs.map((v, i) => ({ meta: item(`c${i}`), vectors: [v] })));
  const q = clustered(1, DIM, 12, 11)[0];
  idx.delete(Array.from({ length: 100 }, (_, i) => `c${i * 2}`));
  const p = idx.partitions.get('en')!;
  assert.equal(p.rows.length, 600); // below the fraction: holes kept, graph nodes marked deleted
  const before = idx.searchExact('en', [q], 20).map((h) => h.item.id);
  idx.delete(Array.from({ length: 100 }, (_, i) => `c${200 + i * 2}`));
  assert.equal(p.rows.length, 400); // compacted
  assert.equal(p.kind, 'hnsw');
  const after = idx.searchExact('en', [q], 20).map((h) => h.item.id);
  assert.deepEqual(after, before.filter((id) => !/^c(2\d\d|3\d\d)$/.test(id) || Number(id.slice(1)) % 2 === 1).slice(0, after.length));
  assert.deepEqual(idx.search('en', [q], 10).map((h) => h.item.id), after.slice(0, 10));
});

test('snapshots round-trip (exact and HNSW partitions) and count versions', () => {
  const dir = tmpdir();
  const idx = new ContentIndex([ID], { exactBelow: 300 });
  const vs = clustered(700, DIM, 9, 13);
  idx.upsert(vs.map((v, i) => ({ meta: item(`c${i}`, { language: i < 500 ? 'en' : 'sw', version: 1, channelId: 'ch' }), vectors: [v] })));
  idx.delete(['c1', 'c501']);
  assert.equal(writeSnapshot(idx, dir), 1);
  const loaded = readSnapshot(dir, [ID], { exactBelow: 300 });
  assert.equal(loaded.snapshotVersion, 1);
  assert.deepEqual(loaded.languages(), idx.languages());
  assert.deepEqual(loaded.languages().map((l) => l.kind), ['hnsw', 'exact']);
  for (const q of clustered(20, DIM, 9, 17)) {
    for (const lang of ['en', 'sw']) assert.deepEqual(loaded.search(lang, [q], 10), idx.search(lang, [q], 10));
  }
  assert.deepEqual(loaded.get('c2'), idx.get('c2'));
  assert.equal(loaded.get('c1'), undefined);
  loaded.upsert([{ meta: item('new'), vectors: [vs[0]] }]);
  assert.equal(writeSnapshot(loaded, dir), 2);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['CURRENT', 'snapshot-000002']);
  assert.equal(readSnapshot(dir, [ID]).get('new')!.id, 'new');
});

test('a crash before commit leaves the previous snapshot current and no temp folder', () => {
  const dir = tmpdir();
  const idx = new ContentIndex([ID]);
  const vs = clustered(3, DIM, 3);
  idx.upsert([{ meta: item('old'), vectors: [vs[0]] }]);
  writeSnapshot(idx, dir);
  idx.upsert([{ meta: item('new'), vectors: [vs[1]] }]);
  assert.throws(() => writeSnapshot(idx, dir, { beforeCommit: () => { throw new Error('simulated crash'); } }), /simulated crash/);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['CURRENT', 'snapshot-000001']);
  const loaded = readSnapshot(dir, [ID]);
  assert.ok(loaded.get('old'));
  assert.equal(loaded.get('new'), undefined);
  // a leftover folder of a writer killed mid-write is ignored by readers and cleaned by the next writer
  fs.mkdirSync(path.join(dir, '.tmp-snapshot-000002-999999'));
  fs.writeFileSync(path.join(dir, '.tmp-snapshot-000002-999999', 'snapshot.json'), '{broken');
  assert.ok(readSnapshot(dir, [ID]).get('old'));
  assert.equal(writeSnapshot(idx, dir), 2);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['CURRENT', 'snapshot-000002']);
  assert.equal(currentSnapshotDir(dir), path.join(dir, 'snapshot-000002'));
});

test('a snapshot built with another encoder is refused, saying which', () => {
  const dir = tmpdir();
  const idx = new ContentIndex([ID]);
  idx.upsert([{ meta: item('a'), vectors: clustered(1, DIM, 1) }]);
  writeSnapshot(idx, dir);
  const other = { ...ID, sha256: 'b'.repeat(64), variant: 'int8' };
  assert.throws(() => readSnapshot(dir, [other]), (e: unknown) =>
    e instanceof ArtifactError && /was built with test@1 variant full \(onnx sha256 aaaaaaaaaaaa/.test(e.message) && /configured bundle is test@1 variant int8/.test(e.message));
  assert.throws(() => readSnapshot(dir, [ID, ID]), ArtifactError); // ensemble vs single
  assert.equal(readSnapshot(path.join(dir, 'absent'), [other]).size, 0); // no snapshot yet: empty index
});

test('ensemble spaces: the score is the mean cosine over spaces', () => {
  const ID2 = { ...ID, name: 'second', sha256: 'c'.repeat(64), dim: 8 };
  const idx = new ContentIndex([ID, ID2]);
  const a = clustered(4, DIM, 4, 21);
  const b = clustered(4, 8, 4, 22);
  idx.upsert(a.map((v, i) => ({ meta: item(`c${i}`), vectors: [v, b[i]] })));
  const hits = idx.search('en', [a[0], b[1]], 4);
  const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i], 0);
  for (const h of hits) {
    const i = Number(h.item.id.slice(1));
    assert.ok(Math.abs(h.score - (dot(a[0], a[i]) + dot(b[1], b[i])) / 2) < 1e-6);
  }
  assert.deepEqual(hits.map((h) => h.score), [...hits.map((h) => h.score)].sort((x, y) => y - x));
});

test('HNSW recall@10 >= 0.99 at the configured ef on real embeddings (tiny bundle, Oak + KICD texts)', async (t) => {
  const { loadBundle } = await import('../src/bundle/index.js');
  const { Encoder } = await import('../src/encoder/index.js');
  const { readContent, readTopics, topicInputs } = await import('../src/cli/lecr.js');
  const { contentString, topicString } = await import('../src/text.js');
  const { embedAllFixed } = await import('../src/cli/engine.js');
  const { DEFAULTS } = await import('../src/defaults.js');
  const { dataset, tinyBundle } = await import('./core-fixtures.js');
  const items = [...readContent(path.join(dataset('oak'), 'content.csv')), ...readContent(path.join(dataset('kicd'), 'content.csv'))].filter((_, i) => i % 5 === 0);
  const topics = [...topicInputs(readTopics(path.join(dataset('oak'), 'topics.csv'))).values()].filter((_, i) => i % 40 === 0);
  const bundle = await loadBundle(tinyBundle());
  const enc = await Encoder.create(bundle);
  try {
    const cv = await embedAllFixed(enc, items.map((c) => contentString(c.title, c.description, c.text)), 'content');
    const tv = await embedAllFixed(enc, topics.map((t) => topicString(t.title, t.description, (t.ancestors ?? []).map((a) => a.title))), 'topic');
    const idx = new ContentIndex([bundle.identity], { exactBelow: 1000 }); // configured M, efConstruction, efSearch
    idx.upsert(items.map((c, i) => ({ meta: { id: `${i}`, language: 'all' }, vectors: [cv[i]] })));
    assert.equal(idx.languages()[0].kind, 'hnsw');
    assert.equal(idx.options.hnswEfSearch, DEFAULTS.index.hnsw_ef_search);
    let found = 0;
    for (const q of tv) {
      const exact = new Set(idx.searchExact('all', [q], 10).map((h) => h.item.id));
      for (const h of idx.search('all', [q], 10)) if (exact.has(h.item.id)) found++;
    }
    const recall = found / (tv.length * 10);
    t.diagnostic(`recall@10 ${recall.toFixed(4)} at ef ${idx.options.hnswEfSearch} (M ${idx.options.hnswM}, efConstruction ${idx.options.hnswEfConstruction}); ${tv.length} queries, ${items.length} items`);
    assert.ok(recall >= 0.99, `recall@10 ${recall} over ${tv.length} queries, ${items.length} items`);
  } finally {
    await enc.close();
  }
});

test('a damaged snapshot is refused naming the file', () => {
  const dir = tmpdir();
  const idx = new ContentIndex([ID], { exactBelow: 50 });
  idx.upsert(clustered(80, DIM, 4).map((v, i) => ({ meta: item(`c${i}`), vectors: [v] })));
  writeSnapshot(idx, dir);
  const snap = currentSnapshotDir(dir)!;
  fs.writeFileSync(path.join(snap, 'lang-0000.space0.f32'), Buffer.alloc(12));
  assert.throws(() => readSnapshot(dir, [ID]), (e: unknown) => e instanceof ArtifactError && /lang-0000\.space0\.f32: 12 bytes, expected 80 rows/.test(e.message));
  fs.rmSync(path.join(snap, 'lang-0000.space0.f32'));
  assert.throws(() => readSnapshot(dir, [ID]), (e: unknown) => e instanceof ArtifactError && /space0\.f32: missing/.test(e.message));
  fs.writeFileSync(path.join(snap, 'lang-0000.items.json'), '[{');
  assert.throws(() => readSnapshot(dir, [ID]), (e: unknown) => e instanceof ArtifactError && /items\.json: unreadable/.test(e.message));
});

test('ensemble spaces on HNSW: every proposal is rescored by the exact mean; top-10 agrees with exact search (>= 95 %)', () => {
  const ID2 = { ...ID, name: 'second', sha256: 'd'.repeat(64), dim: 12 };
  const idx = new ContentIndex([ID, ID2], { exactBelow: 100 });
  const a = clustered(600, DIM, 12, 31);
  const b = clustered(600, 12, 12, 32);
  idx.upsert(a.map((v, i) => ({ meta: item(`c${i}`), vectors: [v, b[i]] })));
  assert.equal(idx.languages()[0].kind, 'hnsw');
  let same = 0;
  const qa = clustered(30, DIM, 12, 33);
  const qb = clustered(30, 12, 12, 34);
  for (let i = 0; i < 30; i++) {
    const approx = idx.search('en', [qa[i], qb[i]], 10);
    const exact = idx.searchExact('en', [qa[i], qb[i]], 10);
    for (const h of approx) {
      const e = exact.find((x) => x.item.id === h.item.id);
      if (e) {
        same++;
        assert.equal(h.score, e.score); // identical arithmetic on both paths
      }
    }
  }
  assert.ok(same / 300 >= 0.95, `overlap ${same / 300}`);
});
