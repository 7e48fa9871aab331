// Dynamic batching by a token budget. Sequences from concurrent requests are pooled; a batch runs
// when the pooled padded size reaches `maxBatchTokens` or when the oldest sequence has waited
// `maxBatchWaitMs`. Inside a flush the sequences are sorted by length (longest first) and packed so
// that batch size × longest length ≤ maxBatchTokens, which keeps padding small. One batch runs at a
// time (ONNX Runtime already uses every intra-op thread); arrivals during a run join the next flush.

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

export class TokenBudgetBatcher {
  private pending: Job[] = [];
  private pendingTokens = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly run: BatchRunner,
    private readonly opts: BatcherOptions,
  ) {}

  submit(ids: number[]): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ids, enqueued: performance.now(), resolve, reject });
      this.pendingTokens += Math.max(1, ids.length);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return; // the run loop picks pending work up when the current batch ends
    if (this.pendingTokens >= this.opts.maxBatchTokens) {
      this.clearTimer();
      void this.drain();
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
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const jobs = this.pending.sort((a, b) => b.ids.length - a.ids.length);
        const batches = packBatches(jobs, this.opts.maxBatchTokens);
        // Run one batch, then re-pack with whatever arrived meanwhile: a small request arriving
        // during a huge one gets into the next batch by length instead of waiting for the whole lot.
        const batch = batches[0];
        const taken = new Set(batch);
        this.pending = jobs.filter((j) => !taken.has(j));
        this.pendingTokens = this.pending.reduce((s, j) => s + Math.max(1, j.ids.length), 0);
        const longest = Math.max(1, batch[0].ids.length);
        const now = performance.now();
        let oldestInBatch = now;
        for (const j of batch) oldestInBatch = Math.min(oldestInBatch, j.enqueued);
        const waited = (now - oldestInBatch) / 1000;
        this.opts.onBatch?.(batch.length, longest * batch.length, waited);
        try {
          const out = await this.run(batch.map((j) => j.ids), longest);
          batch.forEach((j, i) => j.resolve(out[i]));
        } catch (err) {
          batch.forEach((j) => j.reject(err));
        }
        // Not yet a full batch and nothing is overdue: give stragglers the bounded wait.
        if (this.pendingTokens < this.opts.maxBatchTokens && this.pending.length > 0) {
          let oldest = Infinity;
          for (const j of this.pending) oldest = Math.min(oldest, j.enqueued);
          if (performance.now() - oldest < this.opts.maxBatchWaitMs) break;
        }
      }
    } finally {
      this.running = false;
    }
    if (this.pending.length > 0) this.schedule();
  }

  close(): void {
    this.clearTimer();
    for (const j of this.pending) j.reject(new Error('encoder closed'));
    this.pending = [];
    this.pendingTokens = 0;
  }
}
