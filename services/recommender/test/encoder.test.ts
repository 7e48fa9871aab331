import { test, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { loadBundle, readGolden, type Bundle } from '../src/bundle/index.js';
import { Encoder, packBatches, TokenBudgetBatcher } from '../src/encoder/index.js';
import type { StageObserver } from '../src/types.js';
import { captureLogger, cosine, tinyBundle } from './core-fixtures.js';

const encoders: Encoder[] = [];
after(async () => {
  for (const e of encoders) await e.close();
});
async function open(b: Bundle, opts: Parameters<typeof Encoder.create>[1] = {}): Promise<Encoder> {
  const e = await Encoder.create(b, opts);
  encoders.push(e);
  return e;
}

test('token ids equal the golden ones (prefix, special tokens, truncation to max_length)', async () => {
  const b = await loadBundle(tinyBundle());
  const enc = await open(b);
  const golden = readGolden(b);
  assert.ok(golden.some((g) => g.token_ids.length === b.manifest.max_length), 'golden should include a truncated text');
  for (const g of golden) {
    assert.deepEqual(enc.tokenizer.encode(g.text, b.manifest.prefixes[g.kind]), g.token_ids, `${g.kind}: ${g.text.slice(0, 60)}`);
  }
});

// Python (onnxruntime 1.32) and Node (onnxruntime-node 1.30) ship different ORT versions: fp32 graphs
// agree to float rounding (1e-4); int8 kernels may differ between versions, so int8 is held to
// cosine >= 0.999. The golden vectors were computed as ONE padded batch of all records, and dynamic
// int8 quantisation picks its activation scale per batch tensor, so int8 vectors depend on their
// batch-mates: the comparison runs the same batch. fp32 is also checked text by text through the
// dynamic batcher (fp32 does not depend on batch-mates beyond rounding).
test('embeddings match golden: fp32 variants within 1e-4, int8 variants cosine >= 0.999', async () => {
  const base = await loadBundle(tinyBundle());
  const golden = readGolden(base);
  for (const variant of Object.keys(base.manifest.variants)) {
    const b = await loadBundle(tinyBundle(), { variant });
    const enc = await open(b);
    assert.ok(golden.every((g) => g.embeddings[variant]), `golden lacks embeddings for variant ${variant}`);
    const isInt8 = /int8/.test(variant) || /int8/.test(b.variantInfo.precision ?? '');
    const asGolden = await enc.embedBatch(golden.map((g) => g.token_ids));
    const oneByOne = isInt8 ? [] : await Promise.all(golden.map(async (g) => (await enc.embed([g.text], g.kind))[0]));
    golden.forEach((g, k) => {
      const want = g.embeddings[variant];
      assert.equal(asGolden[k].length, want.length);
      if (isInt8) assert.ok(cosine(asGolden[k], want) >= 0.999, `${variant} ${g.kind}: cosine ${cosine(asGolden[k], want)}`);
      else {
        for (const got of [asGolden[k], oneByOne[k]]) {
          const maxDiff = Math.max(...want.map((x, i) => Math.abs(x - got[i])));
          assert.ok(maxDiff <= 1e-4, `${variant} ${g.kind}: max |diff| ${maxDiff}`);
        }
      }
    });
  }
});

test("executionProvider 'cuda' falls back to CPU with a logged warning where CUDA is absent", async () => {
  const b = await loadBundle(tinyBundle());
  const { logger, lines } = captureLogger();
  const enc = await open(b, { executionProvider: 'cuda', logger });
  assert.equal(enc.executionProvider, 'cpu');
  const warn = lines.find((l) => l.level === 'warn');
  assert.ok(warn && /falling back to CPU/.test(warn.msg ?? ''), JSON.stringify(lines));
  const g = readGolden(b)[0];
  const [e] = await enc.embed([g.text], g.kind);
  assert.ok(cosine(e, g.embeddings[b.variant]) > 0.999);
});

test('packBatches keeps batch size × longest length within the token budget', () => {
  const seqs = [40, 35, 30, 10, 10, 9, 3, 1].map((n) => ({ ids: new Array(n).fill(1) }));
  const batches = packBatches(seqs, 80);
  assert.deepEqual(batches.map((b) => b.map((s) => s.ids.length)), [[40, 35], [30, 10], [10, 9, 3, 1]]);
  assert.deepEqual(packBatches([{ ids: new Array(200).fill(1) }, { ids: [1] }], 80).map((b) => b.length), [1, 1]);
});

/** A fake model: each sequence's "embedding" is [its first id]; records every batch it runs. */
function fakeRunner(delayMs: number) {
  const batches: { at: number; seqs: number[][] }[] = [];
  const run = async (seqs: number[][]) => {
    batches.push({ at: performance.now(), seqs });
    await new Promise((r) => setTimeout(r, delayMs));
    return seqs.map((s) => Float32Array.of(s[0]));
  };
  return { run, batches };
}

test('batcher: a lone small request waits at most maxBatchWaitMs; a full budget runs at once', async () => {
  const slow = fakeRunner(0);
  const b1 = new TokenBudgetBatcher(slow.run, { maxBatchTokens: 1000, maxBatchWaitMs: 40 });
  const t0 = performance.now();
  assert.deepEqual(Array.from(await b1.submit([7, 1, 1])), [7]);
  const waited = slow.batches[0].at - t0;
  assert.ok(waited >= 35 && waited < 400, `ran after ${waited.toFixed(1)} ms`);
  const fast = fakeRunner(0);
  const b2 = new TokenBudgetBatcher(fast.run, { maxBatchTokens: 6, maxBatchWaitMs: 5000 });
  const t1 = performance.now();
  const out = await b2.submitMany([[1, 0, 0], [2, 0, 0], [3]]);
  assert.deepEqual(out.map((v) => v[0]), [1, 2, 3]); // input order kept
  assert.ok(fast.batches[0].at - t1 < 1000, 'a full budget must not wait for the timer');
});

test('batcher: with no wait, requests of the same turn share a batch and later ones queue behind the running batch', async () => {
  const fake = fakeRunner(20);
  const batcher = new TokenBudgetBatcher(fake.run, { maxBatchTokens: 1000, maxBatchWaitMs: 0 });
  const first = [batcher.submit([1, 0]), batcher.submit([2, 0])]; // same turn: one batch, started on the next turn
  await new Promise((r) => setImmediate(r));
  assert.equal(fake.batches.length, 1, 'the idle batcher starts at once, without a timer');
  const later = [batcher.submit([3, 0]), batcher.submit([4, 0])]; // arrive while batch 1 runs
  const out = await Promise.all([...first, ...later]);
  assert.deepEqual(out.map((v) => v[0]), [1, 2, 3, 4]);
  assert.deepEqual(fake.batches.map((b) => b.seqs.map((x) => x[0]).sort()), [[1, 2], [3, 4]]);
});

test('batcher: with no wait, a lone request never waits for a timer, idle or right after a batch', async () => {
  // setTimeout is faked and never advanced: were the batcher to arm a timer, the request would hang.
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const waits: number[] = [];
    const batches: number[][][] = [];
    const batcher = new TokenBudgetBatcher(async (seqs) => (batches.push(seqs), seqs.map((s) => Float32Array.of(s[0]))), {
      maxBatchTokens: 1000,
      maxBatchWaitMs: 0,
      onBatch: (_size, _tokens, waited) => waits.push(waited),
    });
    const turns = async <T>(p: Promise<T>): Promise<T | 'pending'> => {
      let state: T | 'pending' = 'pending';
      void p.then((v) => (state = v));
      for (let i = 0; i < 5 && state === 'pending'; i++) await new Promise((r) => setImmediate(r));
      return state;
    };
    const first = await turns(batcher.submit([5, 0]));
    assert.notEqual(first, 'pending', 'a lone request on an idle batcher must run within a few event-loop turns');
    assert.equal((first as Float32Array)[0], 5);
    // Submitted from the resolution of the previous batch (the run loop is just finishing).
    const second = await turns(batcher.submit([6, 0]).then((v) => v));
    assert.notEqual(second, 'pending', 'a request right after a batch must not wait for a timer either');
    assert.deepEqual(batches.map((b) => b.map((x) => x[0])), [[5], [6]]);
    assert.equal(waits.length, 2);
  } finally {
    mock.timers.reset();
  }
});

test('batcher: a small request arriving during a bulk one is served within about one batch', async () => {
  const fake = fakeRunner(15);
  const batcher = new TokenBudgetBatcher(fake.run, { maxBatchTokens: 100, maxBatchWaitMs: 1 });
  const bulk = batcher.submitMany(Array.from({ length: 100 }, (_, i) => [1000 + i, ...new Array(9).fill(0)])); // 10 batches of 10
  await new Promise((r) => setTimeout(r, 5)); // the first bulk batch is running
  const small = batcher.submitMany([[42, 0, 0]]);
  const [bulkOut, smallOut] = await Promise.all([bulk, small]);
  const smallBatch = fake.batches.findIndex((b) => b.seqs.some((x) => x[0] === 42)) + 1;
  assert.equal(smallOut[0][0], 42);
  assert.deepEqual(bulkOut.map((v) => v[0]), Array.from({ length: 100 }, (_, i) => 1000 + i));
  assert.ok(smallBatch === 2, `the small request ran in batch ${smallBatch} of ${fake.batches.length}`);
  for (const b of fake.batches) assert.ok(b.seqs.length * Math.max(...b.seqs.map((x) => x.length)) <= 100);
});

test('concurrent requests are batched together under the token budget, with stage timings', async () => {
  const b = await loadBundle(tinyBundle());
  const stages: Record<string, number> = {};
  const batches: { size: number; tokens: number }[] = [];
  const observer: StageObserver = {
    stage: (name, s) => void (stages[name] = (stages[name] ?? 0) + (s >= 0 ? 1 : NaN)),
    batch: (size, tokens) => void batches.push({ size, tokens }),
  };
  const enc = await open(b, { maxBatchTokens: 256, maxBatchWaitMs: 20, observer });
  batches.length = 0;
  const texts = Array.from({ length: 40 }, (_, i) => `topic number ${i} # algebra # ${'word '.repeat(i % 7)}`);
  // 40 separate single-text requests in the same tick: they must share batches
  const one = await Promise.all(texts.map((t) => enc.embed([t], 'topic')));
  assert.ok(batches.length < 40 && batches.some((x) => x.size > 1), JSON.stringify(batches));
  for (const x of batches) assert.ok(x.size === 1 || x.tokens <= 256, JSON.stringify(x));
  assert.ok(stages.tokenize && stages.queue && stages.inference, JSON.stringify(stages));
  // batching must not change results beyond float noise
  const all = await enc.embed(texts, 'topic');
  all.forEach((v, i) => assert.ok(cosine(v, one[i][0]) > 0.99999));
});

test('a large embed call does not stall the event loop (timers still fire within 50 ms)', async (t) => {
  const b = await loadBundle(tinyBundle());
  // One ORT thread: on a 2-core machine the other core is the event loop's (what ORT_INTRA_OP_THREADS
  // is for in production); the test is about blocking, not about CPU contention.
  const enc = await open(b, { maxBatchTokens: 4096, intraOpThreads: 1 });
  const texts = Array.from({ length: 2000 }, (_, i) => `resource ${i} # a video about fractions and decimals # ${'some words here '.repeat(1 + (i % 5))}`);
  const lateness: number[] = [];
  let stop = false;
  const tick = () => {
    const due = performance.now() + 10;
    setTimeout(() => {
      lateness.push(performance.now() - due);
      if (!stop) tick();
    }, 10);
  };
  tick();
  const t0 = performance.now();
  const out = await enc.embed(texts, 'content');
  const elapsed = performance.now() - t0;
  stop = true;
  assert.equal(out.length, texts.length);
  assert.ok(lateness.length >= 3, `only ${lateness.length} timer ticks during ${elapsed.toFixed(0)} ms`);
  const sorted = [...lateness].sort((a, b) => a - b);
  const p90 = sorted[Math.floor(0.9 * (sorted.length - 1))];
  const worst = sorted[sorted.length - 1];
  t.diagnostic(`${lateness.length} ticks in ${elapsed.toFixed(0)} ms; timer lateness p90 ${p90.toFixed(1)} ms, worst ${worst.toFixed(1)} ms`);
  // p90 rather than max: on a shared machine the OS alone can delay one tick; a blocking tokeniser
  // (all 2000 texts in one go) would hold every tick back for seconds and fail both bounds.
  assert.ok(p90 < 50, `timer lateness p90 ${p90.toFixed(1)} ms (worst ${worst.toFixed(1)} ms) during ${elapsed.toFixed(0)} ms`);
  assert.ok(worst < 250, `worst timer lateness ${worst.toFixed(1)} ms during ${elapsed.toFixed(0)} ms`);
});

test('ORT_SPINNING=on opens the session with busy-waiting pools and gives the same vectors', async () => {
  const b = await loadBundle(tinyBundle(), { variant: 'full' });
  const texts = readGolden(b).filter((g) => g.kind === 'content').map((g) => g.text).slice(0, 8);
  const quiet = await open(b, { intraOpThreads: 2 });
  const spinning = await open(b, { intraOpThreads: 2, spinning: true });
  const [a, s] = [await quiet.embed(texts, 'content'), await spinning.embed(texts, 'content')];
  assert.equal(s.length, texts.length);
  for (let i = 0; i < texts.length; i++) assert.ok(cosine(a[i], s[i]) > 0.99999, `text ${i}`);
});
