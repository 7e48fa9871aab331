// Measures the resident memory of an hnswlib-node HNSW index (graph + vectors) for the sizing guide in
// deploy/README.md: builds an index of COUNT random unit vectors of DIM dimensions with the repository's
// HNSW M (config/defaults.json), and reports process RSS before and after, the raw float32 size, and
// the serialised index size (what a snapshot holds on disk).
//
// Usage (from the repository root):
//   node deploy/sizing/index-memory.mjs [--dim 384] [--count 100000] [--ef-construction 200]
// Memory does not depend on efConstruction (only build time does), so a lower value gives the same
// memory figure faster.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(ROOT, 'services', 'recommender', 'package.json'));
const { HierarchicalNSW } = require('hnswlib-node');
const defaults = JSON.parse(readFileSync(path.join(ROOT, 'config', 'defaults.json'), 'utf8'));

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name}: expected a positive integer, got ${process.argv[i + 1]}`);
  return value;
}

const dim = option('dim', 384);
const count = option('count', 100000);
const m = option('m', defaults.index.hnsw_m);
const efConstruction = option('ef-construction', defaults.index.hnsw_ef_construction);
const MiB = 2 ** 20;

// Deterministic pseudo-random unit vectors (xorshift32), generated one at a time so the JS side
// holds no copy of the data set while the index is measured.
let state = 0x9e3779b9;
function nextUniform() {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 0x100000000 - 0.5;
}
const point = new Array(dim);
function nextPoint() {
  let norm = 0;
  for (let d = 0; d < dim; d++) {
    point[d] = nextUniform();
    norm += point[d] * point[d];
  }
  norm = Math.sqrt(norm);
  for (let d = 0; d < dim; d++) point[d] /= norm;
  return point;
}

global.gc?.();
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const index = new HierarchicalNSW('ip', dim);
index.initIndex(count, m, efConstruction, 100);
const every = Math.max(1, Math.floor(count / 10));
for (let i = 0; i < count; i++) {
  index.addPoint(nextPoint(), i);
  if ((i + 1) % every === 0) process.stderr.write(`\r  added ${i + 1}/${count}`);
}
process.stderr.write('\n');
const buildSeconds = (performance.now() - started) / 1000;
global.gc?.();
const rssAfter = process.memoryUsage().rss;

const dir = mkdtempSync(path.join(tmpdir(), 'hnsw-size-'));
const file = path.join(dir, 'index.bin');
index.writeIndexSync(file);
const fileBytes = statSync(file).size;
rmSync(dir, { recursive: true, force: true });

const raw = count * dim * 4;
const result = {
  dim,
  count,
  m,
  efConstruction,
  rawFloat32MiB: +(raw / MiB).toFixed(1),
  rssIncreaseMiB: +((rssAfter - rssBefore) / MiB).toFixed(1),
  bytesPerVector: Math.round((rssAfter - rssBefore) / count),
  indexFileMiB: +(fileBytes / MiB).toFixed(1),
  buildSeconds: +buildSeconds.toFixed(1),
};
console.log(JSON.stringify(result));
