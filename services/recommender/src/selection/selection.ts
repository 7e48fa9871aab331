// Contract 4: the dynamic relative margin, mirroring training/curriculum_training/evaluation/selection.py
// exactly (ranking, tie-breaking, threshold arithmetic and edge rules), so the service and the Python
// evaluator select the same items from the same scores.
import { DEFAULTS } from '../defaults.js';

/** One scored candidate; `index` is the candidate's position in its pool (ties are broken by it). */
export interface Scored {
  index: number;
  score: number;
}

export interface SelectionParams {
  margin: number;
  /** How many ranked candidates the cut looks at; null = uncapped (the seed's eval scripts). */
  maxCandidates: number | null;
  minItems: number;
}

export const DEFAULT_SELECTION: SelectionParams = {
  margin: DEFAULTS.selection.margin,
  maxCandidates: DEFAULTS.selection.max_candidates,
  minItems: DEFAULTS.selection.min_items,
};

/** Rejects parameters the Python side rejects, with the same rules. */
export function checkSelectionParams(p: SelectionParams): void {
  if (!(p.margin >= 0 && p.margin < 1)) throw new RangeError(`margin must be in [0, 1), got ${p.margin}`);
  if (p.maxCandidates !== null && !(Number.isInteger(p.maxCandidates) && p.maxCandidates >= 1)) {
    throw new RangeError(`maxCandidates must be an integer >= 1 or null, got ${p.maxCandidates}`);
  }
  if (!(Number.isInteger(p.minItems) && p.minItems >= 0)) throw new RangeError(`minItems must be an integer >= 0, got ${p.minItems}`);
  if (p.maxCandidates !== null && p.minItems > p.maxCandidates) {
    throw new RangeError(`minItems (${p.minItems}) must not exceed maxCandidates (${p.maxCandidates})`);
  }
}

/** Best first; equal scores by ascending index (so the order never depends on how the search ordered ties). */
export function compareScored(a: Scored, b: Scored): number {
  return b.score - a.score || a.index - b.index;
}

/**
 * How many items of a ranked list (best first) the selection keeps: with s1 the best score, every
 * item with s >= (1 - margin) * s1 among the first maxCandidates, at least minItems. When s1 <= 0 the
 * relative window is meaningless, so only the minItems fallback applies (as selection.py).
 */
export function cutLength(ranked: readonly Scored[], p: SelectionParams): number {
  const n = ranked.length;
  if (n === 0) return 0;
  const cap = p.maxCandidates === null ? n : Math.min(n, p.maxCandidates);
  const s1 = ranked[0].score;
  let nPass = 0;
  if (s1 > 0) {
    const threshold = (1 - p.margin) * s1; // float64 arithmetic on float32 scores, like numpy there
    for (let i = 0; i < cap && ranked[i].score >= threshold; i++) nPass++;
  }
  return Math.min(Math.max(nPass, p.minItems), cap);
}

/**
 * The selection from already ranked candidates (best first, see compareScored). With
 * `overrideThreshold` (Kolibri's override_threshold=true) the ranked candidates are returned without
 * the margin cut. `maxItems` caps the result afterwards.
 */
export function selectRanked(
  ranked: readonly Scored[],
  p: SelectionParams,
  opts: { overrideThreshold?: boolean; maxItems?: number } = {},
): Scored[] {
  checkSelectionParams(p);
  let n: number;
  if (opts.overrideThreshold) n = p.maxCandidates === null ? ranked.length : Math.min(ranked.length, p.maxCandidates);
  else n = cutLength(ranked, p);
  if (opts.maxItems !== undefined) n = Math.min(n, Math.max(0, opts.maxItems));
  return ranked.slice(0, n);
}

/** Ranks unsorted candidates (best first, ties by index) and applies the selection. */
export function select(
  candidates: readonly Scored[],
  p: SelectionParams,
  opts: { overrideThreshold?: boolean; maxItems?: number } = {},
): Scored[] {
  return selectRanked([...candidates].sort(compareScored), p, opts);
}
