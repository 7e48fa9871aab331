// Shared helpers for the Node benchmarks (run from the repo root with `node --import tsx bench/<x>.ts`):
// paths, the bundle choice made by bench/bundles.py, latency statistics and result files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUT = path.join(REPO, 'bench', 'out');
export const RESULTS = path.join(OUT, 'results');
/** Equal thread counts everywhere: ONNX Runtime intra-op threads (inter-op 1), as in the Python runs. */
export const THREADS = Number(process.env.BENCH_THREADS ?? '2');
/** Wall-clock budget per measured configuration (seconds). */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? '3');

export interface BundleChoice {
  path: string;
  kind: string;
  name: string;
  version: string;
  dim: number;
  default_variant: string;
  variants: Record<string, { layers: number; precision: string; source_variant: string }>;
}

export function readJson<T>(file: string): T {
  if (!fs.existsSync(file)) throw new Error(`${path.relative(REPO, file)}: missing (run the Python preparation step first: bash bench/run.sh prepare)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function bundleChoice(): BundleChoice {
  return readJson<BundleChoice>(path.join(OUT, 'bundle.json'));
}

export function percentile(sortedMs: readonly number[], q: number): number {
  // Same definition as numpy.percentile's default (linear interpolation between closest ranks).
  if (sortedMs.length === 0) return NaN;
  const pos = ((sortedMs.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sortedMs[lo] + (sortedMs[hi] - sortedMs[lo]) * (pos - lo);
}

export interface LatencySummary {
  n: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  mean_ms: number;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const s = [...samplesMs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { n: s.length, p50_ms: percentile(s, 50), p90_ms: percentile(s, 90), p99_ms: percentile(s, 99), mean_ms: mean };
}

/** Awaits step(i) repeatedly: warm-up calls, then until the budget is spent (min/max bounds); ms per call. */
export async function timedLoop(step: (i: number) => Promise<unknown>, opts: { seconds?: number; minIters?: number; maxIters?: number; warmup?: number } = {}): Promise<number[]> {
  const { seconds = SECONDS, minIters = 5, maxIters = 2000, warmup = 2 } = opts;
  for (let i = 0; i < warmup; i++) await step(i);
  const samples: number[] = [];
  const start = performance.now();
  let i = 0;
  while (samples.length < maxIters && (samples.length < minIters || performance.now() - start < seconds * 1000)) {
    const t0 = performance.now();
    await step(i++);
    samples.push(performance.now() - t0);
  }
  return samples;
}

export const loadAverage = (): number[] => os.loadavg().map((x) => Math.round(x * 100) / 100);

export function writeResult(name: string, payload: object): string {
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ generated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), ...payload }, null, 1) + '\n');
  console.error(`[bench] wrote ${path.relative(REPO, file)}`);
  return file;
}

export const log = (msg: string): void => console.error(`[bench] ${msg}`);
