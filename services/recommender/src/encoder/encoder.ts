// The ONNX encoder of one bundle: tokenisation (yielding to the event loop), dynamic batching by a
// token budget, onnxruntime-node inference in a worker thread (CPU, or CUDA with a logged fallback
// to CPU).
import { DEFAULTS } from '../defaults.js';
import { ArtifactError } from '../errors.js';
import type { StageObserver } from '../types.js';
import type { Bundle } from '../bundle/bundle.js';
import { BundleTokenizer } from './tokenizer.js';
import { TokenBudgetBatcher } from './batcher.js';
import { WorkerSession } from './session.js';

export type TextKind = 'topic' | 'content';

export interface Logger {
  info(o: object | string, msg?: string): void;
  warn(o: object | string, msg?: string): void;
  error(o: object | string, msg?: string): void;
}

export interface EncoderOptions {
  executionProvider?: 'cpu' | 'cuda';
  intraOpThreads?: number;
  interOpThreads?: number;
  /** ONNX Runtime thread-pool busy-waiting (default off). */
  spinning?: boolean;
  maxBatchTokens?: number;
  maxBatchWaitMs?: number;
  /** Milliseconds of tokenisation between two yields to the event loop (default 5). */
  tokenizeSliceMs?: number;
  observer?: StageObserver;
  logger?: Logger;
}

const OUTPUT = 'embedding';
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Encoder {
  readonly dim: number;
  private readonly batcher: TokenBudgetBatcher;
  private readonly sliceMs: number;

  private constructor(
    readonly bundle: Bundle,
    readonly tokenizer: BundleTokenizer,
    private readonly session: WorkerSession,
    private readonly opts: EncoderOptions,
  ) {
    this.dim = bundle.manifest.dim;
    this.sliceMs = opts.tokenizeSliceMs ?? 5;
    this.batcher = new TokenBudgetBatcher((seqs, len) => this.runBatch(seqs, len), {
      maxBatchTokens: opts.maxBatchTokens ?? DEFAULTS.service.max_batch_tokens,
      maxBatchWaitMs: opts.maxBatchWaitMs ?? DEFAULTS.service.max_batch_wait_ms,
      onBatch: (size, tokens, waited) => {
        opts.observer?.batch(size, tokens);
        opts.observer?.stage('queue', waited);
      },
    });
  }

  static async create(bundle: Bundle, opts: EncoderOptions = {}): Promise<Encoder> {
    const tokenizer = new BundleTokenizer(bundle.tokenizerPath, bundle.manifest.max_length);
    let session: WorkerSession;
    try {
      session = await WorkerSession.open(bundle.modelPath, {
        executionProvider: opts.executionProvider ?? 'cpu',
        intraOpThreads: opts.intraOpThreads,
        interOpThreads: opts.interOpThreads,
        spinning: opts.spinning,
      });
    } catch (err) {
      throw new ArtifactError(`${bundle.modelPath}: ONNX Runtime cannot load the model (${(err as Error).message})`);
    }
    if (session.info.warning !== undefined) {
      opts.logger?.warn({ err: session.info.warning, model: bundle.modelPath }, 'CUDA execution provider could not be loaded; falling back to CPU');
    }
    const enc = new Encoder(bundle, tokenizer, session, opts);
    try {
      await enc.checkModel();
    } catch (err) {
      await session.close();
      throw err;
    }
    return enc;
  }

  /** The execution provider actually in use ('cpu' after a CUDA fallback). */
  get executionProvider(): 'cpu' | 'cuda' {
    return this.session.info.provider;
  }

  /** The ONNX graph must take input_ids/attention_mask and give [batch, dim] "embedding" (Contract 3). */
  private async checkModel(): Promise<void> {
    const where = `${this.bundle.modelPath} (bundle ${this.bundle.manifest.name}, variant ${this.bundle.variant})`;
    const info = this.session.info;
    for (const name of ['input_ids', 'attention_mask']) {
      if (!info.inputNames.includes(name)) throw new ArtifactError(`${where}: no ONNX input "${name}" (inputs: ${info.inputNames.join(', ')})`);
    }
    if (!info.outputNames.includes(OUTPUT)) throw new ArtifactError(`${where}: no ONNX output "${OUTPUT}" (outputs: ${info.outputNames.join(', ')})`);
    const declared = info.outputMeta.find((m) => m.name === OUTPUT)?.lastDim;
    if (typeof declared === 'number' && declared !== this.dim) {
      throw new ArtifactError(`${where}: ONNX output "${OUTPUT}" has dimension ${declared}, manifest dim is ${this.dim}`);
    }
    // The declared shape may be symbolic: a probe inference settles it.
    const [probe] = await this.runBatch([this.tokenizer.encode('')], this.tokenizer.encode('').length);
    if (probe.length !== this.dim) throw new ArtifactError(`${where}: ONNX output "${OUTPUT}" has dimension ${probe.length}, manifest dim is ${this.dim}`);
  }

  prefix(kind: TextKind): string {
    return this.bundle.manifest.prefixes[kind];
  }

  /**
   * Token ids for many texts, yielding to the event loop (setImmediate) whenever a slice has used
   * `tokenizeSliceMs` of CPU, so other requests keep flowing (a SentencePiece tokenizer costs a few
   * ms per long text in pure JS, so slicing by count alone would not bound the pause).
   */
  async tokenize(texts: readonly string[], kind: TextKind): Promise<number[][]> {
    const prefix = this.prefix(kind);
    const out: number[][] = new Array(texts.length);
    let busy = 0;
    let sliceStart = performance.now();
    for (let i = 0; i < texts.length; i++) {
      out[i] = this.tokenizer.encode(texts[i], prefix);
      const now = performance.now();
      if (now - sliceStart >= this.sliceMs && i + 1 < texts.length) {
        busy += now - sliceStart;
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    busy += performance.now() - sliceStart;
    this.opts.observer?.stage('tokenize', busy / 1000);
    return out;
  }

  /** Embeddings of built texts (Contract 2 strings, without prefix), through the dynamic batcher. */
  async embed(texts: readonly string[], kind: TextKind): Promise<Float32Array[]> {
    const ids = await this.tokenize(texts, kind);
    return this.embedIds(ids);
  }

  embedIds(ids: readonly number[][]): Promise<Float32Array[]> {
    return this.batcher.submitMany(ids);
  }

  /** One inference over exactly these sequences (padded to the longest), bypassing the batcher: the
   * batch CLI uses it so that batch composition, and so every float, is independent of sharding. */
  embedBatch(ids: readonly number[][]): Promise<Float32Array[]> {
    const longest = Math.max(1, ...ids.map((s) => s.length));
    return this.runBatch(ids, longest);
  }

  private async runBatch(seqs: readonly number[][], length: number): Promise<Float32Array[]> {
    const n = seqs.length;
    const inputIds = new BigInt64Array(n * length).fill(BigInt(this.tokenizer.padId));
    const mask = new BigInt64Array(n * length);
    seqs.forEach((s, r) => {
      for (let j = 0; j < s.length; j++) {
        inputIds[r * length + j] = BigInt(s[j]);
        mask[r * length + j] = 1n;
      }
    });
    const t0 = performance.now();
    const data = await this.session.run(inputIds, mask, n, length, OUTPUT);
    this.opts.observer?.stage('inference', (performance.now() - t0) / 1000);
    const dim = data.length / n;
    return Array.from({ length: n }, (_, r) => data.subarray(r * dim, (r + 1) * dim));
  }

  async close(): Promise<void> {
    this.batcher.close();
    await this.session.close();
  }
}
