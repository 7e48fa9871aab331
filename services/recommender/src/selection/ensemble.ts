// Contract 4 ensembles: several bundles are combined by the plain mean of their cosine similarities
// (the seed's eval_ensemble.py), computed per candidate before the margin cut.

/** Mean over models of per-model score arrays aligned by candidate (scores[m][i] = model m, candidate i). */
export function meanScores(scores: readonly ArrayLike<number>[]): Float64Array {
  if (scores.length === 0) throw new RangeError('meanScores: need the scores of at least one model');
  const n = scores[0].length;
  const out = new Float64Array(n);
  for (const s of scores) {
    if (s.length !== n) throw new RangeError(`meanScores: models scored different candidate counts (${n} vs ${s.length})`);
    for (let i = 0; i < n; i++) out[i] += s[i];
  }
  // Rounded to float32 like the Python side, whose concatenated embeddings give float32 dot products.
  for (let i = 0; i < n; i++) out[i] = Math.fround(out[i] / scores.length);
  return out;
}
