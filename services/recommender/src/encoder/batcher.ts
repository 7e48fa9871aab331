// Dynamic batching by a token budget. Sequences from concurrent requests are pooled; a batch runs
// when the pooled size reaches `maxBatchTokens` or when the oldest sequence has waited
// `maxBatchWaitMs`. One batch runs at a time (ONNX Runtime already uses every intra-op thread).
//
// Each batch is formed fairly: every waiting request gets an equal share of the token budget (its
// longest sequences first, at least one), the union is sorted by length and packed so that batch
// size × longest length ≤ maxBatchTokens (little padding). A bulk request of thousands of texts
// therefore cannot hold a one-topic request back for more than about one batch.

export interface BatchRunner {
  /** Embeds one padded batch; returns one vector per sequence, in order. */
  (seqs: number[][], paddedLength: number): Promise<Float32Array[]>;
}

export interface BatcherOptions {
  maxBatchTokens: number;
  maxBatchWaitMs: number;
  /** Called when a batch starts: its size, padded tokens and the oldest member's wait in seconds. */
  onBatch?: (size: number, paddedTokens: number, waitedSeconds: number) => void;
}

interface Job {
  ids: number[];
  request: number;
  enqueued: number;
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
}

/** Packs sequences sorted longest-first into batches under the token budget (a sequence longer than the budget runs alone). */
export function packBatches<T extends { ids: number[] }>(sorted: readonly T[], maxBatchTokens: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let longest = 0;
  for (const s of sorted) {
    const L = Math.max(1, s.ids.length);
    const padded = Math.max(longest, L) * (cur.length + 1);
    if (cur.length > 0 && padded > maxBatchTokens) {
      out.push(cur);
      cur = [];
      longest = 0;
    }
    cur.push(s);
    longest = Math.max(longest, L);
  }
  if (cur.length) out.push(cur);
  return out;
}

const tokens = (j: { ids: number[] }) => Math.max(1, j.ids.length);

export class TokenBudgetBatcher {
  /** Waiting sequences in arrival order; each request's own sequences longest first. */
  private pending: Job[] = [];
  private pendingTokens = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private running = false;
  private nextRequest = 1;

  constructor(
    private readonly run: BatchRunner,
    private readonly opts: BatcherOptions,
  ) {}

  /** Embeds the sequences of one request; vectors in input order. */
  submitMany(seqs: readonly number[][]): Promise<Float32Array[]> {
    const request = this.nextRequest++;
    const now = performance.now();
    const results: Promise<Float32Array>[] = new Array(seqs.length);
    const jobs: Job[] = seqs.map((ids, i) => {
      let job!: Job;
      results[i] = new Promise<Float32Array>((resolve, reject) => (job = { ids, request, enqueued: now, resolve, reject }));
      return job;
    });
    jobs.sort((a, b) => b.ids.length - a.ids.length);
    for (const j of jobs) {
      this.pending.push(j);
      this.pendingTokens += tokens(j);
    }
    this.schedule();
    return Promise.all(results);
  }

  submit(ids: number[]): Promise<Float32Array> {
    return this.submitMany([ids]).then((v) => v[0]);
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return; // the run loop picks pending work up when the current batch ends
    if (this.pendingTokens >= this.opts.maxBatchTokens) {
      this.clearTimer();
      void this.drain();
    } else if (this.opts.maxBatchWaitMs <= 0) {
      // No wait configured: run on the next turn of the event loop, so requests that arrived in this
      // turn share the batch, without setTimeout's ~1 ms floor. Requests that arrive while a batch runs
      // still form the next batch together (drain's loop), so batches grow with load by themselves.
      this.immediate ??= setImmediate(() => {
        this.immediate = null;
        void this.drain();
      });
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.drain();
      }, this.opts.maxBatchWaitMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
  }

  /** The next batch: an equal token share per waiting request, packed longest first. */
  private nextBatch(): Job[] {
    const requests = new Map<number, Job[]>();
    for (const j of this.pending) {
      const list = requests.get(j.request);
      if (list) list.push(j);
      else requests.set(j.request, [j]);
    }
    const share = this.opts.maxBatchTokens / requests.size;
    const candidates: Job[] = [];
    for (const jobs of requests.values()) {
      let used = 0;
      for (const j of jobs) {
        if (used > 0 && used + tokens(j) > share) break;
        candidates.push(j);
        used += tokens(j);
      }
    }
    candidates.sort((a, b) => b.ids.length - a.ids.length || a.request - b.request);
    return packBatches(candidates, this.opts.maxBatchTokens)[0];
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.clearTimer();
    try {
      while (this.pending.length > 0) {
        const batch = this.nextBatch();
        const taken = new Set(batch);
        this.pending = this.pending.filter((j) => !taken.has(j));
        for (const j of batch) this.pendingTokens -= tokens(j);
        const longest = tokens(batch[0]);
        const now = performance.now();
        let oldest = now;
        for (const j of batch) oldest = Math.min(oldest, j.enqueued);
        this.opts.onBatch?.(batch.length, longest * batch.length, (now - oldest) / 1000);
        try {
          const out = await this.run(batch.map((j) => j.ids), longest);
          batch.forEach((j, i) => j.resolve(out[i]));
        } catch (err) {
          batch.forEach((j) => j.reject(err));
        }
        // Less than a full batch left and none of it overdue: give stragglers the bounded wait.
        if (this.pendingTokens < this.opts.maxBatchTokens && this.pending.length > 0) {
          let first = Infinity;
          for (const j of this.pending) first = Math.min(first, j.enqueued);
          if (performance.now() - first < this.opts.maxBatchWaitMs) break;
        }
      }
    } finally {
      this.running = false;
    }
    this.schedule();
  }

  close(): void {
    this.clearTimer();
    for (const j of this.pending) j.reject(new Error('encoder closed'));
    this.pending = [];
    this.pendingTokens = 0;
  }
}
