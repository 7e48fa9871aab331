import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSelectionParams, cutLength, meanScores, select, selectRanked, TopK, type Scored } from '../src/selection/index.js';

const ranked = (scores: number[]): Scored[] => scores.map((score, index) => ({ index, score }));
const P = { margin: 0.25, maxCandidates: 128, minItems: 1 };

test('keeps every item within the relative margin of the best (threshold inclusive)', () => {
  // s1 = 0.5, margin 0.25 → threshold 0.375 exactly; 0.375 stays, 0.37 goes
  assert.equal(cutLength(ranked([0.5, 0.4, 0.375, 0.37, 0.1]), P), 3);
  // s1 = 0.75 → threshold 0.5625 (exact in binary, so the boundary item is really on it)
  assert.equal(cutLength(ranked([0.75, 0.6, 0.5625, 0.56]), P), 3);
});

test('the window scales with the best score', () => {
  assert.equal(cutLength(ranked([0.25, 0.19, 0.18]), P), 2); // threshold 0.1875
  assert.equal(cutLength(ranked([1, 0.76, 0.74]), P), 2); // threshold 0.75
});

test('min_items fallback, including s1 <= 0 where nothing passes the margin', () => {
  assert.equal(cutLength(ranked([0.5, 0.1, 0.05]), { ...P, minItems: 2 }), 2);
  assert.equal(cutLength(ranked([-0.1, -0.2]), P), 1);
  assert.equal(cutLength(ranked([-0.1, -0.2]), { ...P, minItems: 0 }), 0);
  assert.equal(cutLength(ranked([0, 0, 0]), P), 1); // s1 == 0 would keep every orthogonal item otherwise
  assert.equal(cutLength([], P), 0);
});

test('max_candidates caps the cut; null means uncapped', () => {
  const s = ranked([0.5, 0.49, 0.48, 0.47]);
  assert.equal(cutLength(s, { ...P, maxCandidates: 2 }), 2);
  assert.equal(cutLength(s, { ...P, maxCandidates: null }), 4);
  assert.equal(cutLength(ranked([0.5]), { ...P, minItems: 1, maxCandidates: 1 }), 1);
});

test('ranking: best first, ties by lower index', () => {
  const out = select([{ index: 7, score: 0.3 }, { index: 2, score: 0.5 }, { index: 3, score: 0.3 }, { index: 1, score: 0.3 }], { ...P, margin: 0.5 });
  assert.deepEqual(out.map((c) => c.index), [2, 1, 3, 7]);
});

test('overrideThreshold returns the ranked candidates without the cut; maxItems caps', () => {
  const s = ranked([0.5, 0.1, 0.05, -0.2]);
  assert.equal(selectRanked(s, P).length, 1);
  assert.deepEqual(selectRanked(s, P, { overrideThreshold: true }).map((c) => c.index), [0, 1, 2, 3]);
  assert.equal(selectRanked(s, { ...P, maxCandidates: 3 }, { overrideThreshold: true }).length, 3);
  assert.equal(selectRanked(s, P, { overrideThreshold: true, maxItems: 2 }).length, 2);
  assert.equal(selectRanked(ranked([0.5, 0.49, 0.48]), P, { maxItems: 2 }).length, 2);
});

test('invalid parameters are rejected like the Python side', () => {
  assert.throws(() => checkSelectionParams({ ...P, margin: 1 }), /margin/);
  assert.throws(() => checkSelectionParams({ ...P, margin: -0.1 }), /margin/);
  assert.throws(() => checkSelectionParams({ ...P, maxCandidates: 0 }), /maxCandidates/);
  assert.throws(() => checkSelectionParams({ ...P, minItems: 5, maxCandidates: 4 }), /minItems/);
});

test('TopK equals a full sort (with ties) on random data', () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const k of [1, 5, 50, 300]) {
    const all: Scored[] = [];
    const top = new TopK(k);
    for (let i = 0; i < 1000; i++) {
      const score = Math.round(rand() * 50) / 50; // many ties
      all.push({ index: i, score });
      top.push(i, score);
    }
    const expected = [...all].sort((a, b) => b.score - a.score || a.index - b.index).slice(0, k);
    assert.deepEqual(top.sorted(), expected, `k=${k}`);
  }
});

test('ensemble scores are the mean cosine over models', () => {
  const m = meanScores([[0.5, 0.25], [0.25, 0.75]]);
  assert.deepEqual(Array.from(m), [0.375, 0.5]);
  assert.throws(() => meanScores([[1], [1, 2]]), /different candidate counts/);
});
