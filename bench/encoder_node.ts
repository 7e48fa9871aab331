// Encoder benchmark through the service's own path: services/recommender/src/encoder (bundle loading
// with checksums, onnxruntime-node in a worker thread) — Encoder.embedBatch on exactly the token ids and
// batches the Python runs use (bench/out/encoder-inputs.json), BENCH_THREADS intra-op threads, 1
// inter-op. Also times the service's tokenizer on the same texts and checks its ids against Python's.
//
//   node --import tsx bench/encoder_node.ts [ROUND]      → bench/out/results/encoder-node[-rROUND].json
import path from 'node:path';
import ort from 'onnxruntime-node';
import { loadBundle } from '../services/recommender/src/bundle/index.js';
import { Encoder } from '../services/recommender/src/encoder/index.js';
import { OUT, REPO, SECONDS, THREADS, bundleChoice, loadAverage, log, readJson, summarize, timedLoop, writeResult } from './lib/common.js';

interface Inputs {
  bundle_version: string;
  pad_id: number;
  prefixes: { topic: string; content: string };
  tokens: object;
  rows: { kind: 'topic' | 'content'; text: string; ids: number[] }[];
}
interface Shape { linear_macs_per_token: number; hidden: number; layers: number }

const BATCH_SIZES = [1, 8, 32];

/** Same analytic count as bench/flops.py: linear layers + attention (scores and weighted sum). */
function batchFlops(shape: Shape, batch: number, padded: number): number {
  return 2 * batch * padded * (shape.linear_macs_per_token + shape.layers * 2 * padded * shape.hidden);
}

/** Rows of the index-th batch: consecutive rows, wrapping around (same as bench/inputs.py). */
function batchRows(nRows: number, batch: number, index: number): number[] {
  const start = (index * batch) % nRows;
  return Array.from({ length: batch }, (_, r) => (start + r) % nRows);
}

async function main(): Promise<void> {
  const choice = bundleChoice();
  const inputs = readJson<Inputs>(path.join(OUT, 'encoder-inputs.json'));
  if (inputs.bundle_version !== choice.version) throw new Error('bench/out/encoder-inputs.json was made for another bundle: rerun `bash bench/run.sh prepare`');
  const shapes = readJson<Record<string, Shape>>(path.join(OUT, `flops-${choice.version}.json`));
  const bundleDir = path.join(REPO, choice.path);
  const loadBefore = loadAverage();
  const results: object[] = [];
  let tokenizer: object | null = null;

  for (const variant of Object.keys(choice.variants)) {
    const t0 = performance.now();
    const bundle = await loadBundle(bundleDir, { variant });
    const enc = await Encoder.create(bundle, { intraOpThreads: THREADS, interOpThreads: 1 });
    const openMs = performance.now() - t0;

    if (tokenizer === null) {
      // The service's tokenizer on the same texts: ids must equal Python's, and its cost is per text.
      let mismatches = 0;
      const tk0 = performance.now();
      for (const r of inputs.rows) {
        const ids = enc.tokenizer.encode(r.text, inputs.prefixes[r.kind]);
        if (ids.length !== r.ids.length || ids.some((v, j) => v !== r.ids[j])) mismatches++;
      }
      const tkMs = performance.now() - tk0;
      tokenizer = { texts: inputs.rows.length, mismatches, ms_per_text: tkMs / inputs.rows.length };
      log(`node tokenizer: ${(tkMs / inputs.rows.length).toFixed(3)} ms/text, ${mismatches} of ${inputs.rows.length} differ from Python's ids`);
    }

    for (const batch of BATCH_SIZES) {
      const batches = Array.from({ length: 64 }, (_, i) => batchRows(inputs.rows.length, batch, i).map((r) => inputs.rows[r].ids));
      const lengths: number[] = [];
      const samples = await timedLoop(
        async (i) => {
          const b = batches[i % batches.length];
          lengths.push(Math.max(...b.map((s) => s.length)));
          await enc.embedBatch(b);
        },
        { seconds: SECONDS, minIters: batch >= 8 ? 3 : 20, warmup: 1 },
      );
      const timed = lengths.slice(1);
      const totalMs = samples.reduce((a, b) => a + b, 0);
      const flops = timed.reduce((s, L) => s + batchFlops(shapes[variant], batch, L), 0);
      const r = {
        runtime: 'onnxruntime-node',
        variant,
        precision: choice.variants[variant].precision,
        batch,
        ...summarize(samples),
        texts_per_s: (batch * samples.length) / (totalMs / 1000),
        gflops: flops / (totalMs / 1000) / 1e9,
        mean_padded_length: timed.reduce((a, b) => a + b, 0) / timed.length,
        open_ms: openMs,
      };
      results.push(r);
      log(`ort-node ${variant.padEnd(15)} batch ${String(batch).padStart(2)}: ${r.texts_per_s.toFixed(1).padStart(7)} texts/s, p50 ${r.p50_ms.toFixed(1).padStart(7)} ms, p99 ${r.p99_ms.toFixed(1).padStart(7)} ms, ${r.gflops.toFixed(1).padStart(6)} GFLOP/s (n=${r.n})`);
    }
    await enc.close();
  }

  // onnxruntime-node called directly on this thread (no worker), with ONNX Runtime's default
  // spin-waiting intra-op threads and with spinning off: the served variant and the full model, at
  // the batch sizes a service sees most (mirrors the Python no-spin runs).
  for (const variant of [...new Set([choice.default_variant, 'full'])]) {
    const bundle = await loadBundle(bundleDir, { variant, verify: false });
    for (const spinning of [true, false]) {
      const extra = spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } };
      const session = await ort.InferenceSession.create(bundle.modelPath, { graphOptimizationLevel: 'all', intraOpNumThreads: THREADS, interOpNumThreads: 1, ...extra });
      for (const batch of [1, 8]) {
        const batches = Array.from({ length: 64 }, (_, i) => {
          const seqs = batchRows(inputs.rows.length, batch, i).map((r) => inputs.rows[r].ids);
          const L = Math.max(...seqs.map((q) => q.length));
          const ids = new BigInt64Array(batch * L).fill(BigInt(inputs.pad_id));
          const mask = new BigInt64Array(batch * L);
          seqs.forEach((q, r) => q.forEach((t, j) => ((ids[r * L + j] = BigInt(t)), (mask[r * L + j] = 1n))));
          return { L, feeds: { input_ids: new ort.Tensor('int64', ids, [batch, L]), attention_mask: new ort.Tensor('int64', mask, [batch, L]) } };
        });
        const lengths: number[] = [];
        const samples = await timedLoop(
          async (i) => {
            const b = batches[i % batches.length];
            lengths.push(b.L);
            await session.run(b.feeds);
          },
          { seconds: SECONDS, minIters: batch >= 8 ? 3 : 20, warmup: 1 },
        );
        const timed = lengths.slice(1);
        const totalMs = samples.reduce((a, b) => a + b, 0);
        const flops = timed.reduce((sum, L) => sum + batchFlops(shapes[variant], batch, L), 0);
        const runtime = spinning ? 'onnxruntime-node-direct' : 'onnxruntime-node-direct-nospin';
        const r = { runtime, variant, precision: choice.variants[variant].precision, batch, ...summarize(samples), texts_per_s: (batch * samples.length) / (totalMs / 1000), gflops: flops / (totalMs / 1000) / 1e9, mean_padded_length: timed.reduce((a, b) => a + b, 0) / timed.length };
        results.push(r);
        log(`${runtime} ${variant.padEnd(15)} batch ${String(batch).padStart(2)}: ${r.texts_per_s.toFixed(1).padStart(7)} texts/s, p50 ${r.p50_ms.toFixed(1).padStart(7)} ms (n=${r.n})`);
      }
      await session.release();
    }
  }
  const round = Number(process.argv[2] ?? '0');
  writeResult(round ? `encoder-node-r${round}` : 'encoder-node', { round, bundle: choice, threads: THREADS, seconds_per_config: SECONDS, tokenizer, load_average_before: loadBefore, load_average_after: loadAverage(), results });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
