// What the batch commands share: bundles + encoders opened from paths, and deterministic embedding
// of many texts in fixed batches (no dynamic batching: batch membership, and so every float, depends
// only on the input list, never on timing).
import { loadBundle, type Bundle } from '../bundle/index.js';
import { Encoder, packBatches, type TextKind } from '../encoder/index.js';
import { DEFAULTS } from '../defaults.js';

export interface EngineOptions {
  bundles: string[];
  variant?: string;
  threads?: number;
  executionProvider?: 'cpu' | 'cuda';
  logger?: { info(o: object | string, msg?: string): void; warn(o: object | string, msg?: string): void; error(o: object | string, msg?: string): void };
}

export interface Engine {
  bundles: Bundle[];
  encoders: Encoder[];
  close(): Promise<void>;
}

export async function openEngine(opts: EngineOptions): Promise<Engine> {
  const bundles = await Promise.all(opts.bundles.map((b) => loadBundle(b, { variant: opts.variant })));
  const encoders: Encoder[] = [];
  for (const b of bundles) {
    encoders.push(await Encoder.create(b, { intraOpThreads: opts.threads, executionProvider: opts.executionProvider, logger: opts.logger }));
  }
  return { bundles, encoders, close: async () => void (await Promise.all(encoders.map((e) => e.close()))) };
}

/** Embeds texts (length-sorted, packed under the token budget) with one encoder; vectors in input order. */
export async function embedAllFixed(
  enc: Encoder,
  texts: readonly string[],
  kind: TextKind,
  onProgress?: (n: number) => void,
  maxBatchTokens = DEFAULTS.service.max_batch_tokens,
): Promise<Float32Array[]> {
  const ids = await enc.tokenize(texts, kind);
  const order = ids.map((s, i) => ({ ids: s, i })).sort((a, b) => b.ids.length - a.ids.length || a.i - b.i);
  const out: Float32Array[] = new Array(texts.length);
  for (const batch of packBatches(order, maxBatchTokens)) {
    const vs = await enc.embedBatch(batch.map((b) => b.ids));
    batch.forEach((b, k) => (out[b.i] = vs[k]));
    onProgress?.(batch.length);
  }
  return out;
}
