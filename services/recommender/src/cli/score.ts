// `cli score`: topics.csv (+ optional split and shard) → LECR submission CSV, with F2/P/R per language
// when correlations are given. Sharding is deterministic and byte-exact: every shard orders ALL
// selected topics the same way (token length, then id), cuts them into the same fixed batches and
// takes every n-th batch, so each topic is embedded in the same batch, with the same padding, as in
// an unsharded run; `merge` then reproduces the unsharded file byte for byte.
import { readSnapshot, currentSnapshotDir } from '../index/index.js';
import { ArtifactError } from '../errors.js';
import { checkSelectionParams, type SelectionParams } from '../selection/index.js';
import { rankAndSelect } from '../recommender.js';
import { topicString } from '../text.js';
import { DEFAULTS } from '../defaults.js';
import { openEngine, type EngineOptions } from './engine.js';
import { readCorrelations, readSplits, readTopics, splitTopicIds, topicInputs } from './lecr.js';
import { evaluatePredictions, type MetricsReport } from './metrics.js';
import { progressBar } from './progress.js';
import { writeSubmission } from './submission.js';

export interface ScoreOptions extends EngineOptions {
  index: string;
  topics: string;
  correlations?: string;
  splitFile?: string;
  /** "fold<k>", "group" or "all" (with splitFile). */
  split?: string;
  shard?: { index: number; count: number };
  out: string;
  margin?: number;
  maxCandidates?: number;
  /** Topics per inference batch (fixed, so results do not depend on sharding). */
  batchSize?: number;
  progress?: boolean;
}

export interface ScoreResult {
  topics: number;
  /** Wall time of the whole command (loading included). */
  seconds: number;
  /** Topics per second of the scoring itself (tokenise, embed, search, select), loading excluded. */
  topicsPerSecond: number;
  metrics?: MetricsReport;
  predictions: Map<string, string[]>;
}

export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new Error(`--shard "${spec}": expected i/n with 0 <= i < n (e.g. 0/4)`);
  return { index, count };
}

export async function scoreTopics(opts: ScoreOptions): Promise<ScoreResult> {
  const t0 = performance.now();
  if (!currentSnapshotDir(opts.index)) throw new ArtifactError(`${opts.index}: no index snapshot (build one with \`cli index build\`)`);
  const topics = readTopics(opts.topics);
  const inputs = topicInputs(topics);
  const gt = opts.correlations ? readCorrelations(opts.correlations) : undefined;
  let ids: string[];
  if (opts.splitFile) {
    const spec = opts.split ?? 'fold0';
    ids = splitTopicIds(readSplits(opts.splitFile), spec);
    const unknown = ids.find((id) => !inputs.has(id));
    if (unknown) throw new Error(`${opts.splitFile}: topic ${unknown} is not in ${opts.topics}; regenerate the splits`);
    if (gt) ids = ids.filter((id) => (gt.get(id)?.size ?? 0) > 0); // the evaluator's set: held-out topics with ground truth
  } else ids = topics.map((t) => t.id);

  const engine = await openEngine(opts);
  try {
    const index = readSnapshot(opts.index, engine.bundles.map((b) => b.identity));
    const m = engine.bundles[0].manifest.selection;
    const params: SelectionParams = {
      margin: opts.margin ?? m.margin ?? DEFAULTS.selection.margin,
      maxCandidates: opts.maxCandidates ?? m.max_candidates ?? DEFAULTS.selection.max_candidates,
      minItems: m.min_items ?? DEFAULTS.selection.min_items,
    };
    checkSelectionParams(params);

    const tScoring = performance.now();
    const texts = ids.map((id) => {
      const t = inputs.get(id)!;
      return topicString(t.title, t.description, (t.ancestors ?? []).map((a) => a.title));
    });
    // One global order and batch cut, identical in every shard.
    const tokenized = await Promise.all(engine.encoders.map((e) => e.tokenize(texts, 'topic')));
    const order = ids.map((id, i) => i).sort((a, b) => tokenized[0][b].length - tokenized[0][a].length || (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
    const batchSize = opts.batchSize ?? 64;
    const shard = opts.shard ?? { index: 0, count: 1 };
    const mine: number[][] = [];
    for (let b = 0, start = 0; start < order.length; b++, start += batchSize) {
      if (b % shard.count === shard.index) mine.push(order.slice(start, start + batchSize));
    }
    const total = mine.reduce((s, b) => s + b.length, 0);
    const bar = opts.progress === false ? null : progressBar('scoring topics', total);
    const predictions = new Map<string, string[]>();
    for (const batch of mine) {
      const perBundle = await Promise.all(engine.encoders.map((e, k) => e.embedBatch(batch.map((i) => tokenized[k][i]))));
      batch.forEach((i, j) => {
        const t = inputs.get(ids[i])!;
        const hits = rankAndSelect(index, perBundle.map((vs) => vs[j]), { languages: [t.language], params });
        predictions.set(t.id, hits.map((h) => h.item.id));
      });
      bar?.increment(batch.length);
    }
    bar?.stop();
    writeSubmission(opts.out, predictions);
    const seconds = (performance.now() - t0) / 1000;
    const scoringSeconds = (performance.now() - tScoring) / 1000;
    const languageOf = new Map(topics.map((t) => [t.id, t.language]));
    return {
      topics: predictions.size,
      seconds,
      topicsPerSecond: predictions.size / scoringSeconds,
      metrics: gt ? evaluatePredictions(predictions, gt, languageOf) : undefined,
      predictions,
    };
  } finally {
    await engine.close();
  }
}
