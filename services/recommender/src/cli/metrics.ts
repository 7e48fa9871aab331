// The Kaggle metric as the Python evaluator computes it (evaluation/metrics.py): per topic
// P = |gt∩pred|/|pred|, R = |gt∩pred|/|gt|, F2 = 5PR/(4P+R), each 0 when its denominator is 0;
// reported values are unweighted means over the topics that have ground truth.

export interface Scores {
  topics: number;
  f2: number;
  precision: number;
  recall: number;
  meanSelected: number;
}

export interface MetricsReport extends Scores {
  perLanguage: ({ language: string } & Scores)[];
}

function safeDiv(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

export function topicScores(pred: readonly string[], gt: ReadonlySet<string>): { f2: number; precision: number; recall: number } {
  let tp = 0;
  for (const p of new Set(pred)) if (gt.has(p)) tp++;
  const precision = safeDiv(tp, pred.length);
  const recall = safeDiv(tp, gt.size);
  return { f2: safeDiv(5 * precision * recall, 4 * precision + recall), precision, recall };
}

/** Metrics over the predicted topics that have ground truth; per language when languages are known. */
export function evaluatePredictions(
  predictions: ReadonlyMap<string, readonly string[]>,
  gt: ReadonlyMap<string, ReadonlySet<string>>,
  languageOf: ReadonlyMap<string, string> = new Map(),
): MetricsReport {
  const groups = new Map<string, { f2: number; precision: number; recall: number; selected: number }[]>();
  const all: { f2: number; precision: number; recall: number; selected: number }[] = [];
  for (const [topicId, pred] of predictions) {
    const truth = gt.get(topicId);
    if (!truth || truth.size === 0) continue;
    const s = { ...topicScores(pred, truth), selected: pred.length };
    all.push(s);
    const lang = languageOf.get(topicId) ?? '?';
    if (!groups.has(lang)) groups.set(lang, []);
    groups.get(lang)!.push(s);
  }
  const mean = (xs: typeof all): Scores => ({
    topics: xs.length,
    f2: xs.reduce((a, x) => a + x.f2, 0) / Math.max(1, xs.length),
    precision: xs.reduce((a, x) => a + x.precision, 0) / Math.max(1, xs.length),
    recall: xs.reduce((a, x) => a + x.recall, 0) / Math.max(1, xs.length),
    meanSelected: xs.reduce((a, x) => a + x.selected, 0) / Math.max(1, xs.length),
  });
  const perLanguage = [...groups.entries()]
    .map(([language, xs]) => ({ language, ...mean(xs) }))
    .sort((a, b) => b.topics - a.topics || a.language.localeCompare(b.language));
  return { ...mean(all), perLanguage };
}

export function formatMetrics(m: MetricsReport): string {
  const row = (name: string, s: Scores) =>
    `${name.padEnd(8)} ${String(s.topics).padStart(6)}  ${s.f2.toFixed(4)}  ${s.precision.toFixed(4)}  ${s.recall.toFixed(4)}  ${s.meanSelected.toFixed(2).padStart(8)}`;
  return [
    `language topics  F2      P       R       selected`,
    ...m.perLanguage.map((l) => row(l.language, l)),
    row('all', m),
  ].join('\n');
}
