// Parity with the Python evaluator: on a real dataset split, the service's selections (through
// createRecommender, and through the batch CLI) give the same F2 as
// `python -m curriculum_training.bundle evaluate` for the same bundle variant (±0.002).
// Both sides embed with ONNX Runtime (Python onnxruntime vs onnxruntime-node) and select by Contract 4;
// the tolerance absorbs float rounding at the edge of the candidate cut.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../src/defaults.js';
import { createRecommender } from '../src/recommender.js';
import { buildIndex } from '../src/cli/index-build.js';
import { scoreTopics } from '../src/cli/score.js';
import { evaluatePredictions } from '../src/cli/metrics.js';
import { readContent, readCorrelations, readSplits, readTopics, splitTopicIds, topicInputs } from '../src/cli/lecr.js';
import { dataset, tinyBundle, tmpDir } from './core-fixtures.js';

const PYTHON = path.join(REPO_ROOT, 'training', '.venv', 'bin', 'python');
const VARIANT = 'full';
const SPLIT = 'fold0';
const TOLERANCE = 0.002;

interface PythonReport {
  sweep: { margin: number; f2: number; mean_selected: number }[];
  f2: number;
  precision: number;
  recall: number;
  topics: number;
  variant: string;
  split: string;
}
let python: PythonReport;
let data: string;

before(() => {
  // A private copy: both sides read exactly the same files even if `make datasets` rewrites data/.
  data = path.join(tmpDir('parity-'), 'kicd');
  fs.cpSync(dataset('kicd'), data, { recursive: true });
  if (!fs.existsSync(path.join(data, 'splits.csv'))) throw new Error(`${data}/splits.csv is missing: run \`make datasets\``);
  const out = path.join(tmpDir('parity-'), 'python.json');
  const r = spawnSync(
    PYTHON,
    ['-m', 'curriculum_training.bundle', 'evaluate', '--bundle', tinyBundle(), '--dataset', data, '--split', SPLIT, '--variant', VARIANT, '--json', out],
    { cwd: path.join(REPO_ROOT, 'training'), encoding: 'utf8', env: { ...process.env, TOKENIZERS_PARALLELISM: 'false' }, timeout: 180_000 },
  );
  assert.equal(r.status, 0, `python bundle evaluate failed (${r.error?.message ?? ''}):\n${r.stderr}`);
  python = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(python.variant, VARIANT);
  assert.ok(python.topics > 0);
});

test('service selections (createRecommender) give the Python evaluator F2 on kicd fold0', async (t) => {
  const rec = await createRecommender({ bundlePaths: [tinyBundle()], variant: VARIANT });
  try {
    await rec.upsertContent(readContent(path.join(data, 'content.csv')).map((c) => ({ ...c, kind: c.kind || undefined })));
    const gt = readCorrelations(path.join(data, 'correlations.csv'));
    const topics = readTopics(path.join(data, 'topics.csv'));
    const inputs = topicInputs(topics);
    const ids = splitTopicIds(readSplits(path.join(data, 'splits.csv')), SPLIT).filter((id) => (gt.get(id)?.size ?? 0) > 0);
    assert.equal(ids.length, python.topics, 'the same evaluation topics as Python');
    const results = await rec.recommend(ids.map((id) => inputs.get(id)!));
    const predictions = new Map(results.map((r) => [r.topicId, r.recommendations.map((x) => x.id)]));
    const m = evaluatePredictions(predictions, gt);
    t.diagnostic(`service F2 ${m.f2.toFixed(5)} P ${m.precision.toFixed(5)} R ${m.recall.toFixed(5)} selected ${m.meanSelected.toFixed(1)}; Python F2 ${python.f2.toFixed(5)} (${m.topics} topics)`);
    assert.equal(m.topics, python.topics);
    assert.ok(Math.abs(m.f2 - python.f2) <= TOLERANCE, `service F2 ${m.f2.toFixed(5)} vs Python ${python.f2.toFixed(5)}`);
    assert.ok(Math.abs(m.precision - python.precision) <= TOLERANCE, `precision ${m.precision} vs ${python.precision}`);
    assert.ok(Math.abs(m.recall - python.recall) <= TOLERANCE, `recall ${m.recall} vs ${python.recall}`);
    // The tiny random model's cosines are bunched, so at the default margin every candidate passes;
    // the evaluator's margin sweep also checks margins where the cut really bites.
    const biting = python.sweep.filter((row) => row.margin <= 0.05);
    assert.ok(biting.some((row) => row.mean_selected < 128), 'the sweep should contain margins that cut');
    for (const row of biting) {
      const res = await rec.recommend(ids.map((id) => inputs.get(id)!), { margin: row.margin });
      const mm = evaluatePredictions(new Map(res.map((r) => [r.topicId, r.recommendations.map((x) => x.id)])), gt);
      t.diagnostic(`margin ${row.margin}: service F2 ${mm.f2.toFixed(5)} selected ${mm.meanSelected.toFixed(2)}; Python F2 ${row.f2.toFixed(5)} selected ${row.mean_selected.toFixed(2)}`);
      assert.ok(Math.abs(mm.f2 - row.f2) <= TOLERANCE, `margin ${row.margin}: service F2 ${mm.f2} vs Python ${row.f2}`);
      assert.ok(Math.abs(mm.meanSelected - row.mean_selected) <= 0.25, `margin ${row.margin}: selected ${mm.meanSelected} vs ${row.mean_selected}`);
    }
  } finally {
    await rec.close();
  }
});

test('the batch CLI (index build + score) gives the Python evaluator F2 on kicd fold0', async (t) => {
  const dir = tmpDir('parity-cli-');
  const index = path.join(dir, 'index');
  await buildIndex({ bundles: [tinyBundle()], variant: VARIANT, content: path.join(data, 'content.csv'), out: index, progress: false });
  const common = {
    bundles: [tinyBundle()],
    variant: VARIANT,
    index,
    topics: path.join(data, 'topics.csv'),
    correlations: path.join(data, 'correlations.csv'),
    splitFile: path.join(data, 'splits.csv'),
    split: SPLIT,
    progress: false,
  };
  const r = await scoreTopics({ ...common, out: path.join(dir, 'submission.csv') });
  assert.ok(r.metrics);
  t.diagnostic(`CLI F2 ${r.metrics.f2.toFixed(5)}; Python F2 ${python.f2.toFixed(5)}`);
  assert.equal(r.metrics.topics, python.topics);
  assert.ok(Math.abs(r.metrics.f2 - python.f2) <= TOLERANCE, `CLI F2 ${r.metrics.f2.toFixed(5)} vs Python ${python.f2.toFixed(5)}`);
  // and at a margin where the cut bites (see the service test)
  const row = python.sweep.find((x) => x.margin === 0.01)!;
  const tight = await scoreTopics({ ...common, margin: row.margin, out: path.join(dir, 'tight.csv') });
  t.diagnostic(`margin ${row.margin}: CLI F2 ${tight.metrics!.f2.toFixed(5)}; Python F2 ${row.f2.toFixed(5)}`);
  assert.ok(Math.abs(tight.metrics!.f2 - row.f2) <= TOLERANCE, `margin ${row.margin}: CLI F2 ${tight.metrics!.f2} vs Python ${row.f2}`);
});
