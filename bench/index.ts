// Content index benchmark through the service's own index (services/recommender/src/index: hnswlib-node
// graphs proposing candidates, rescored exactly from the stored vectors) on real embeddings augmented
// to 150k (bench/vectors.py): recall@10 and @128 against exact search, queries/s and latency, build
// time and memory, at 10k, 66k and 150k items for a few (M, efConstruction) graphs and efSearch values;
// the service's exact (brute-force) search beside it.
//
// Graph builds are slow here (single-threaded inserts; over a minute at 150k), so each built graph is
// cached under bench/out/index-cache/ with the build time and memory measured when it was built;
// `--rebuild` measures them again. Missing graphs are built in child processes, BENCH_THREADS at a
// time, the most expensive first (the 150k service-default graph is the critical path: ~85 CPU
// seconds with hnswlib's AVX kernels, `make node`).
//
//   node --import tsx bench/index.ts [--rebuild]          → bench/out/results/index.json
//   node --import tsx bench/index.ts build N M EFC        (one graph; used by the above)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_INDEX_OPTIONS } from '../services/recommender/src/index/types.js';
import { bundleChoice, loadAverage, log, readJson, summarize, writeResult } from './lib/common.js';
import { BenchVectors, cacheDir, graphFile, vectorsDir } from './lib/vectors.js';

const SIZES = [10_000, 66_000, 150_000];
const GRAPHS = [
  { M: 16, efConstruction: 100 },
  { M: DEFAULT_INDEX_OPTIONS.hnswM, efConstruction: DEFAULT_INDEX_OPTIONS.hnswEfConstruction }, // the service default
];
const EF_SEARCH = [64, 128, 192, 256, 512];
const TIMED_QUERIES = Number(process.env.BENCH_INDEX_QUERIES ?? '200');
const EXACT_QUERIES = 10;

interface BuildRecord { n: number; M: number; efConstruction: number; build_s: number; build_cpu_s?: number; rss_delta_mb: number; graph_file_mb: number; built_at: string; load_average: number[] }

function buildOne(vectors: BenchVectors, n: number, M: number, efConstruction: number): BuildRecord {
  const p = vectors.partition(n, { hnswM: M, hnswEfConstruction: efConstruction });
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  p.buildGraphs();
  const buildS = (performance.now() - t0) / 1000;
  // CPU seconds as well: on a shared machine wall time depends on the load, CPU time much less.
  const cpu = process.cpuUsage(cpu0);
  const buildCpuS = (cpu.user + cpu.system) / 1e6;
  const rss1 = process.memoryUsage().rss;
  fs.mkdirSync(cacheDir(), { recursive: true });
  const file = graphFile(n, M, efConstruction);
  p.spaces[0].hnsw!.writeIndexSync(file + '.tmp');
  fs.renameSync(file + '.tmp', file);
  const rec: BuildRecord = {
    n, M, efConstruction, build_s: buildS, build_cpu_s: buildCpuS, rss_delta_mb: (rss1 - rss0) / 2 ** 20, graph_file_mb: fs.statSync(file).size / 2 ** 20,
    built_at: new Date().toISOString(), load_average: loadAverage(),
  };
  fs.writeFileSync(file + '.json', JSON.stringify(rec, null, 1));
  log(`built HNSW n=${n} M=${M} efC=${efConstruction} in ${buildS.toFixed(1)} s (${buildCpuS.toFixed(1)} s CPU, +${rec.rss_delta_mb.toFixed(0)} MB RSS, graph file ${rec.graph_file_mb.toFixed(0)} MB)`);
  return rec;
}

/** Builds the missing graphs in child processes, `parallel` at a time. */
async function buildMissing(jobs: { n: number; M: number; efConstruction: number }[], parallel = Math.max(1, Number(process.env.BENCH_THREADS ?? '2'))): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  // Longest first (cost grows with n, M and efConstruction), so no long build starts last.
  const queue = [...jobs].sort((a, b) => b.n * b.M * b.efConstruction - a.n * a.M * a.efConstruction);
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const j = job;
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', self, 'build', String(j.n), String(j.M), String(j.efConstruction)], { stdio: 'inherit' });
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`graph build n=${j.n} M=${j.M} efC=${j.efConstruction} exited with ${code}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

function overlap(hits: readonly number[], truth: Int32Array, offset: number, k: number): number {
  const want = new Set<number>();
  for (let j = 0; j < k; j++) want.add(truth[offset + j]);
  let found = 0;
  for (const r of hits.slice(0, k)) if (want.has(r)) found++;
  return found / k;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const choice = bundleChoice();
  const dir = vectorsDir(choice);
  if (args[0] === 'build') {
    const [n, M, efc] = args.slice(1).map(Number);
    buildOne(new BenchVectors(dir), n, M, efc);
    return;
  }
  const rebuild = args.includes('--rebuild');
  const loadBefore = loadAverage();
  const jobs = SIZES.flatMap((n) => GRAPHS.map((g) => ({ n, ...g }))).filter((j) => rebuild || !fs.existsSync(graphFile(j.n, j.M, j.efConstruction) + '.json'));
  if (jobs.length) {
    log(`building ${jobs.length} HNSW graph(s) (cached afterwards under ${path.relative(process.cwd(), cacheDir())})`);
    await buildMissing(jobs);
  }
  const vectors = new BenchVectors(dir);
  const nq = Math.min(TIMED_QUERIES, vectors.meta.queries);
  const kMax = vectors.meta.k_max;
  const rows: object[] = [];
  const exact: object[] = [];
  for (const n of SIZES) {
    const truth = vectors.groundTruth(n);
    const p = vectors.partition(n);
    // The service's brute-force path (used below exact_below items per language).
    const exactMs: number[] = [];
    for (let q = 0; q < EXACT_QUERIES; q++) {
      const t0 = performance.now();
      p.searchExact([vectors.query(q)], kMax);
      exactMs.push(performance.now() - t0);
    }
    const ex = { ...summarize(exactMs), n, k: kMax, qps: 1000 / (exactMs.reduce((a, b) => a + b, 0) / exactMs.length) };
    exact.push(ex);
    log(`exact n=${n}: p50 ${ex.p50_ms.toFixed(1)} ms, ${ex.qps.toFixed(1)} q/s`);
    for (const g of GRAPHS) {
      const build = readJson<BuildRecord>(graphFile(n, g.M, g.efConstruction) + '.json');
      p.attachGraph(0, graphFile(n, g.M, g.efConstruction));
      for (const ef of EF_SEARCH) {
        for (const k of [10, kMax]) {
          if (ef < k) continue; // hnswlib searches with max(ef, k): same as ef = k
          let recall = 0;
          const ms: number[] = [];
          const rawMs: number[] = [];
          const graph = p.spaces[0].hnsw!;
          p.search([vectors.query(0)], k, undefined, ef); // warm-up
          for (let q = 0; q < nq; q++) {
            const query = vectors.query(q);
            // hnswlib alone (what the library costs), then the service's search (+ exact rescoring)
            const r0 = performance.now();
            graph.setEf(ef);
            graph.searchKnn(Array.from(query), k);
            rawMs.push(performance.now() - r0);
            const t0 = performance.now();
            const hits = p.search([query], k, undefined, ef);
            ms.push(performance.now() - t0);
            recall += overlap(hits.map((h) => h.row), truth, q * kMax, k);
          }
          const r = {
            ...summarize(ms),
            n, M: g.M, efConstruction: g.efConstruction, efSearch: Math.max(ef, k), k, recall: recall / nq, queries: nq,
            qps: 1000 / (ms.reduce((a, b) => a + b, 0) / ms.length),
            hnswlib_p50_ms: summarize(rawMs).p50_ms,
            build_s: build.build_s, build_cpu_s: build.build_cpu_s ?? null, build_rss_delta_mb: build.rss_delta_mb, graph_file_mb: build.graph_file_mb, built_at: build.built_at,
            vectors_mb: (n * vectors.meta.dim * 4) / 2 ** 20,
          };
          rows.push(r);
          log(`hnsw n=${n} M=${g.M} efC=${g.efConstruction} ef=${r.efSearch} k=${k}: recall ${r.recall.toFixed(4)}, p50 ${r.p50_ms.toFixed(2)} ms, ${r.qps.toFixed(0)} q/s`);
        }
      }
    }
  }
  writeResult('index', { bundle: choice, vectors: vectors.meta, load_average_before: loadBefore, load_average_after: loadAverage(), exact, hnsw: rows });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
