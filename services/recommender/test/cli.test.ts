import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { readSubmission } from '../src/cli/submission.js';
import { evaluatePredictions, topicScores } from '../src/cli/metrics.js';
import { readCorrelations } from '../src/cli/lecr.js';
import { parseCsv, formatCsv } from '../src/cli/csv.js';
import { tinyBundle, tmpDir } from './core-fixtures.js';

const SERVICE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A small LECR dataset: a topic tree in two languages, content with quoting edge cases. */
function writeDataset(dir: string): { topics: string; content: string; correlations: string } {
  const subjects = ['fractions', 'decimals', 'percentages', 'equations', 'inequalities', 'geometry', 'angles', 'probability', 'statistics', 'algebra'];
  const topics: string[][] = [['r-en', 'Mathematics', '', 'en', ''], ['r-fr', 'Mathématiques', '', 'fr', '']];
  const content: string[][] = [];
  const corr: string[][] = [];
  subjects.forEach((s, i) => {
    for (const lang of ['en', 'fr']) {
      topics.push([`${lang}-${i}`, `${s} (${lang})`, `All about ${s}, "quoted"`, lang, `r-${lang}`]);
      for (let j = 0; j < 3; j++) {
        topics.push([`${lang}-${i}-${j}`, `${s} lesson ${j}`, j === 1 ? 'multi\nline' : '', lang, `${lang}-${i}`]);
        const ids = [0, 1].map((k) => `c-${lang}-${i}-${j}-${k}`);
        ids.forEach((id, k) => content.push([id, `${s} ${k ? 'exercise' : 'video'} ${j}`, `Practice ${s}, part ${j}`, k ? 'exercise' : 'video', `Worked examples of ${s} https://example.org/${i}`, lang]));
        corr.push([`${lang}-${i}-${j}`, ids.join(' ')]);
      }
    }
  });
  const files = { topics: path.join(dir, 'topics.csv'), content: path.join(dir, 'content.csv'), correlations: path.join(dir, 'correlations.csv') };
  fs.writeFileSync(files.topics, formatCsv(['id', 'title', 'description', 'language', 'parent'], topics));
  fs.writeFileSync(files.content, formatCsv(['id', 'title', 'description', 'kind', 'text', 'language'], content));
  fs.writeFileSync(files.correlations, formatCsv(['topic_id', 'content_ids'], corr));
  return files;
}

test('csv: quotes, commas and line breaks survive a round trip', () => {
  const rows = [['a', 'b,c', 'say "hi"', 'two\nlines', '']];
  assert.deepEqual(parseCsv(formatCsv(['x', 'y', 'z', 'w', 'v'], rows)).slice(1), rows);
  assert.deepEqual(parseCsv('x,y\r\n1,2\r\n'), [['x', 'y'], ['1', '2']]);
  assert.throws(() => parseCsv('x\n"open', 'f.csv'), /f\.csv:2: unterminated/);
});

test('metrics: per-topic F2 as the Kaggle metric', () => {
  // 1 of 2 predictions right, 1 of 4 truths found: P 0.5, R 0.25, F2 = 5·0.125/(2+0.25)
  assert.ok(Math.abs(topicScores(['a', 'x'], new Set(['a', 'b', 'c', 'd'])).f2 - 0.625 / 2.25) < 1e-12);
  assert.equal(topicScores([], new Set(['a'])).f2, 0);
  const m = evaluatePredictions(new Map([['t1', ['a']], ['t2', ['z']], ['t3', ['q']]]), new Map([['t1', new Set(['a'])], ['t2', new Set(['b'])]]));
  assert.equal(m.topics, 2); // t3 has no ground truth: not counted
  assert.equal(m.f2, 0.5);
});

test('bundle info verifies and describes the bundle', async () => {
  const r = await cli('bundle', 'info', '--bundle', tinyBundle());
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /checksums verified/);
  assert.match(r.out, /full\s+full\.onnx/);
});

let builtIndex: { dir: string; ds: ReturnType<typeof writeDataset>; index: string } | undefined;

test('index build + score: sharded-then-merged output equals the unsharded output byte for byte', async () => {
  const dir = tmpDir('cli-');
  const ds = writeDataset(dir);
  const index = path.join(dir, 'index');
  const built = await cli('index', 'build', '--bundle', tinyBundle(), '--variant', 'full', '--content', ds.content, '--out', index, '--exact-below', '40');
  assert.equal(built.code, 0, built.err);
  assert.match(built.out, /120 items, snapshot 1/);
  assert.match(built.out, /en\s+60\s+hnsw/);
  builtIndex = { dir, ds, index };
  const common = ['--bundle', tinyBundle(), '--variant', 'full', '--index', index, '--topics', ds.topics, '--correlations', ds.correlations, '--batch-size', '4'];
  const full = path.join(dir, 'full.csv');
  const metricsJson = path.join(dir, 'metrics.json');
  const whole = await cli('score', ...common, '--out', full, '--metrics-json', metricsJson);
  assert.equal(whole.code, 0, whole.err);
  assert.match(whole.out, /throughput [\d.]+ topics\/s/);
  const shards: string[] = [];
  for (let i = 0; i < 3; i++) {
    const f = path.join(dir, `shard-${i}.csv`);
    const r = await cli('score', ...common, '--shard', `${i}/3`, '--out', f);
    assert.equal(r.code, 0, r.err);
    shards.push(f);
  }
  const sizes = shards.map((f) => readSubmission(f).size);
  assert.ok(sizes.every((n) => n > 0), `every shard has work: ${sizes}`);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 82); // every topic, each once
  const merged = path.join(dir, 'merged.csv');
  const m = await cli('merge', '--out', merged, ...shards);
  assert.equal(m.code, 0, m.err);
  assert.equal(fs.readFileSync(merged, 'utf8'), fs.readFileSync(full, 'utf8'));
  // the printed F2 is the metric of the written file
  const printed = JSON.parse(fs.readFileSync(metricsJson, 'utf8'));
  const recomputed = evaluatePredictions(readSubmission(full), readCorrelations(ds.correlations));
  assert.ok(Math.abs(printed.f2 - recomputed.f2) < 1e-12);
  assert.deepEqual(printed.perLanguage.map((l: { language: string }) => l.language).sort(), ['en', 'fr']);
  // overlapping shards are refused
  const bad = await cli('merge', '--out', path.join(dir, 'bad.csv'), shards[0], shards[0]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /overlapping shards/);
});

test('score refuses an index built with another variant, and bad arguments', async () => {
  assert.ok(builtIndex, 'runs after the index build test');
  const { dir, ds, index } = builtIndex;
  const r = await cli('score', '--bundle', tinyBundle(), '--variant', 'int8', '--index', index, '--topics', ds.topics, '--out', path.join(dir, 's.csv'));
  assert.equal(r.code, 1);
  assert.match(r.err, /was built with tiny@\S+ variant full .* the configured bundle is tiny@\S+ variant int8/);
  const shard = await cli('score', '--bundle', tinyBundle(), '--index', index, '--topics', ds.topics, '--out', path.join(dir, 's.csv'), '--shard', '3/3');
  assert.match(shard.err, /--shard "3\/3"/);
  const noIndex = await cli('score', '--bundle', tinyBundle(), '--index', path.join(dir, 'none'), '--topics', ds.topics, '--out', path.join(dir, 's.csv'));
  assert.match(noIndex.err, /no index snapshot/);
});

test('the npm entry point resolves relative paths from where npm was invoked', () => {
  const invokedFrom = path.dirname(tinyBundle());
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bundle', 'info', '--bundle', path.basename(tinyBundle())], {
    cwd: SERVICE_DIR,
    env: { ...process.env, INIT_CWD: invokedFrom },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /checksums verified/);
});
